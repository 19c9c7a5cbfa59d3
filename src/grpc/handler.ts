/**
 * Method handlers: what a service registers per full method name
 * (`/package.Service/Method`). Messages are bytes at this layer; `decode`
 * and `encode` (for example from `@bufbuild/protobuf`) turn them into values.
 *
 * @module
 */

/** What a handler knows about its call. */
export interface CallContext {
  /** Full method name, e.g. `/containerd.services.snapshots.v1.Snapshots/Stat`. */
  method: string;
  /** Request metadata: the non-pseudo headers, lower-case names. */
  metadata: ReadonlyMap<string, string>;
  /** Aborted when the client cancels, the deadline passes or the connection drops. */
  signal: AbortSignal;
  /** Absolute deadline in `Date.now()` milliseconds, when the client set one. */
  deadline?: number;
}

/** A registered method: one request message in, `send` for each response message. */
export interface MethodHandler {
  readonly kind: "unary" | "server-streaming";
  call(
    request: Uint8Array<ArrayBuffer>,
    ctx: CallContext,
    send: (message: Uint8Array) => Promise<void>,
  ): Promise<void>;
}

/** The method table a server serves. */
export type MethodTable = Readonly<Record<string, MethodHandler>>;

/**
 * A unary method: one request, one response.
 *
 * @example Echo bytes
 * ```ts
 * import { unary } from "./handler.ts";
 * const echo = unary((b) => b, (b: Uint8Array) => b, (req) => req);
 * ```
 */
export function unary<Req, Res>(
  decode: (bytes: Uint8Array<ArrayBuffer>) => Req,
  encode: (message: Res) => Uint8Array,
  fn: (request: Req, ctx: CallContext) => Promise<Res> | Res,
): MethodHandler {
  return {
    kind: "unary",
    async call(request, ctx, send) {
      await send(encode(await fn(decode(request), ctx)));
    },
  };
}

/**
 * A server-streaming method: one request, any number of responses; each
 * `send` waits while the client's flow-control window is full.
 */
export function serverStreaming<Req, Res>(
  decode: (bytes: Uint8Array<ArrayBuffer>) => Req,
  encode: (message: Res) => Uint8Array,
  fn: (request: Req, ctx: CallContext) => AsyncIterable<Res> | Iterable<Res>,
): MethodHandler {
  return {
    kind: "server-streaming",
    async call(request, ctx, send) {
      for await (const message of fn(decode(request), ctx)) {
        ctx.signal.throwIfAborted();
        await send(encode(message));
      }
    },
  };
}

const UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * Parses `grpc-timeout` (gRPC over HTTP/2: at most 8 digits and a unit).
 *
 * @returns the timeout in milliseconds, or undefined when absent or malformed
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * UNITS[m[2]] : undefined;
}
