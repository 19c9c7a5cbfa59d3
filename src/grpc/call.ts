/**
 * The gRPC side of a stream: validating the request headers, collecting the
 * request message, running the handler with a deadline, and answering with
 * response headers, messages and `grpc-status` trailers (gRPC over HTTP/2).
 *
 * @module
 */

import type { HeaderField } from "./hpack.ts";
import type { ConnectionLimits } from "./connection.ts";
import type { H2Stream } from "./stream.ts";
import { type CallContext, type MethodTable, parseGrpcTimeout } from "./handler.ts";
import { encodeMessage } from "./message.ts";
import { encodeGrpcMessage, GrpcError, Status, type StatusCode, statusOfError } from "./status.ts";

/** What the connection offers to the call logic. */
export interface CallHost {
  readonly methods: MethodTable;
  readonly limits: ConnectionLimits;
  sendHeaders(s: H2Stream, fields: HeaderField[], endStream: boolean): void;
  /** Schedules the stream's queued output and trailers. */
  queue(s: H2Stream): void;
  /** The stream's last frame was sent. */
  ended(s: H2Stream): void;
  /** A handler started; `done` settles when it returns, even after its stream is gone. */
  handlerStarted(done: Promise<void>): void;
}

const RESPONSE_HEADERS: HeaderField[] = [[":status", "200"], ["content-type", "application/grpc"]];

/** Validates a new stream's request headers; answers at once when the call cannot run. */
export function openCall(host: CallHost, s: H2Stream, listSize: number, endStream: boolean): void {
  if (listSize > host.limits.maxHeaderListSize) {
    return finishCall(
      host,
      s,
      Status.RESOURCE_EXHAUSTED,
      `request headers of ${listSize} bytes exceed the limit`,
    );
  }
  const contentType = s.headers.get("content-type") ?? "";
  if (s.headers.get(":method") !== "POST" || !/^application\/grpc($|[+;])/.test(contentType)) {
    const status = s.headers.get(":method") !== "POST" ? "405" : "415";
    host.sendHeaders(s, [[":status", status]], true);
    return host.ended(s);
  }
  if (!s.handler) {
    return finishCall(host, s, Status.UNIMPLEMENTED, `unknown method ${s.headers.get(":path")}`);
  }
  const timeout = parseGrpcTimeout(s.headers.get("grpc-timeout"));
  if (timeout !== undefined) {
    s.timer = setTimeout(
      () => finishCall(host, s, Status.DEADLINE_EXCEEDED, "deadline exceeded"),
      timeout,
    );
  }
  if (endStream) onRequestData(host, s, new Uint8Array(0), true);
}

/** Takes request DATA; runs the handler once the client half-closes with one message. */
export function onRequestData(
  host: CallHost,
  s: H2Stream,
  data: Uint8Array,
  endStream: boolean,
): void {
  if (s.finished) return;
  s.reader.push(data);
  for (let m = s.reader.next(); m !== null; m = s.reader.next()) {
    if (m === "too-large") {
      return finishCall(
        host,
        s,
        Status.RESOURCE_EXHAUSTED,
        `request message larger than the limit of ${host.limits.maxMessageSize} bytes`,
      );
    }
    if (m.compressed) {
      // gRPC over HTTP/2: a compressed message in an encoding we do not support is
      // UNIMPLEMENTED; the flag without any declared encoding is a protocol violation.
      const encoding = s.headers.get("grpc-encoding") ?? "identity";
      return encoding === "identity"
        ? finishCall(host, s, Status.INTERNAL, "compressed message without grpc-encoding")
        : finishCall(host, s, Status.UNIMPLEMENTED, `unsupported grpc-encoding ${encoding}`);
    }
    s.requests.push(m.data);
    if (s.requests.length > 1) {
      return finishCall(
        host,
        s,
        Status.INTERNAL,
        "more than one request message for a unary request",
      );
    }
  }
  if (!endStream) return;
  s.remoteClosed = true;
  if (s.requests.length !== 1) {
    return finishCall(host, s, Status.INTERNAL, "the client sent no request message");
  }
  run(host, s);
}

function run(host: CallHost, s: H2Stream): void {
  const deadlineMs = parseGrpcTimeout(s.headers.get("grpc-timeout"));
  const metadata = new Map([...s.headers].filter(([name]) => !name.startsWith(":")));
  const ctx: CallContext = {
    method: s.headers.get(":path")!,
    metadata,
    signal: s.abort.signal,
    deadline: deadlineMs === undefined ? undefined : Date.now() + deadlineMs,
  };
  const max = host.limits.maxMessageSize;
  const send = async (message: Uint8Array): Promise<void> => {
    if (s.finished) throw s.abort.signal.reason ?? new Error(`stream ${s.id} has ended`);
    if (message.length > max) {
      throw new GrpcError(
        Status.RESOURCE_EXHAUSTED,
        `response message of ${message.length} bytes exceeds the limit of ${max}`,
      );
    }
    if (!s.headersSent) {
      s.headersSent = true;
      host.sendHeaders(s, RESPONSE_HEADERS, false);
    }
    const framed = encodeMessage(message);
    s.outbound.push(framed);
    s.outboundBytes += framed.length;
    host.queue(s);
    await s.drained();
  };
  const done = s.handler!.call(s.requests[0], ctx, send).then(
    () => finishCall(host, s, Status.OK, ""),
    (err) => {
      const { code, message } = statusOfError(err);
      finishCall(host, s, code, message);
    },
  ).catch(() => {
    // Only a bug here could throw; a daemon must not die of an unhandled rejection.
    s.discard(new DOMException("internal error finishing the call", "AbortError"));
  });
  host.handlerStarted(done);
}

/**
 * Decides the call's status once: trailers-only when nothing was sent yet,
 * otherwise trailers after the queued messages. Aborts the handler's signal
 * when the status is not OK (deadline, limits).
 */
export function finishCall(host: CallHost, s: H2Stream, code: StatusCode, message: string): void {
  if (s.finished) return;
  s.finished = true;
  if (s.timer !== undefined) clearTimeout(s.timer);
  const trailers: HeaderField[] = [["grpc-status", String(code)]];
  if (message) trailers.push(["grpc-message", encodeGrpcMessage(message)]);
  if (code !== Status.OK && !s.abort.signal.aborted) s.abort.abort(new GrpcError(code, message));
  if (!s.headersSent) {
    s.headersSent = true;
    host.sendHeaders(s, [...RESPONSE_HEADERS, ...trailers], true);
    host.ended(s);
  } else {
    s.trailers = trailers;
    host.queue(s);
  }
}
