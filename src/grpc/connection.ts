/**
 * One server-side HTTP/2 connection (RFC 9113) carrying gRPC calls: frame
 * dispatch, SETTINGS, PING, flow control in both directions, stream limits,
 * GOAWAY. What to answer on a stream is in `call.ts`.
 *
 * @module
 */

import {
  CLIENT_PREFACE,
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  encodeFrame,
  encodeGoaway,
  encodeSettings,
  Flag,
  type Frame,
  FrameReader,
  FrameType,
  H2Error,
  MAX_WINDOW_SIZE,
  Setting,
  u32,
  unpad,
} from "./frame.ts";
import { FrameWriter } from "./frame_writer.ts";
import { ReceiveWindow } from "./flow_window.ts";
import { decodeSettings } from "./settings.ts";
import { createHeaderDecoder, type HeaderField } from "./hpack.ts";
import { HeaderBlockReader } from "./header_block.ts";
import { SendScheduler } from "./send_scheduler.ts";
import { H2Stream } from "./stream.ts";
import { type CallHost, onRequestData, openCall } from "./call.ts";
import type { MethodTable } from "./handler.ts";

/** Limits of one connection; `serveGrpc` fills the defaults. */
export interface ConnectionLimits {
  maxConcurrentStreams: number;
  maxMessageSize: number;
  maxHeaderListSize: number;
  initialWindowSize: number;
}

/** How long a connection that failed waits for its GOAWAY to be written. */
const GOAWAY_LINGER_MS = 1000;

/** Unwritten output above which the connection stops reading. */
const WRITE_HIGH_WATER = 4 * 1024 * 1024;

/** Serves one accepted socket until the peer leaves, a protocol error, or shutdown. */
export class Connection implements CallHost {
  readonly methods: MethodTable;
  readonly limits: ConnectionLimits;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;
  #conn: Deno.Conn;
  #reader = new FrameReader(DEFAULT_MAX_FRAME_SIZE);
  #writer: FrameWriter;
  #decoder = createHeaderDecoder();
  #headerBlocks: HeaderBlockReader;
  #send: SendScheduler;
  #streams = new Map<number, H2Stream>();
  #lastStreamId = 0;
  #prefaceSeen = false;
  #headerBlock:
    | { streamId: number; endStream: boolean; chunks: Uint8Array[]; size: number }
    | null = null;
  #peerInitialWindow = DEFAULT_WINDOW_SIZE;
  #recv: ReceiveWindow;
  #goingAway = false;
  /** Handlers not yet returned, including those of streams already reset. */
  #running = 0;
  #isClosed = false;
  #resolveClosed!: () => void;

  constructor(conn: Deno.Conn, methods: MethodTable, limits: ConnectionLimits) {
    this.#conn = conn;
    this.methods = methods;
    this.limits = limits;
    this.#writer = new FrameWriter(conn, () => this.#teardown());
    this.#send = new SendScheduler(this.#writer, (s) => this.ended(s));
    // Compressed size bounds the work of decoding; the decoded size is checked per call.
    this.#headerBlocks = new HeaderBlockReader(4 * limits.maxHeaderListSize);
    this.#recv = new ReceiveWindow(Math.max(limits.initialWindowSize, DEFAULT_WINDOW_SIZE));
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Calls in progress. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** Reads and answers frames until the connection ends; never rejects. */
  async serve(): Promise<void> {
    this.#emit(
      FrameType.SETTINGS,
      0,
      0,
      encodeSettings([
        [Setting.ENABLE_PUSH, 0],
        [Setting.MAX_CONCURRENT_STREAMS, this.limits.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, this.limits.initialWindowSize],
        [Setting.MAX_HEADER_LIST_SIZE, this.limits.maxHeaderListSize],
      ]),
    );
    if (this.limits.initialWindowSize > DEFAULT_WINDOW_SIZE) {
      // The connection window starts at 65 535 whatever SETTINGS say (RFC 9113 §6.9.2).
      this.#emit(
        FrameType.WINDOW_UPDATE,
        0,
        0,
        u32(this.limits.initialWindowSize - DEFAULT_WINDOW_SIZE),
      );
    }
    const buf = new Uint8Array(64 * 1024);
    try {
      while (!this.#isClosed) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#reader.push(buf.subarray(0, n));
        this.#process();
        // A peer that sends (PINGs, SETTINGS, refused streams) but does not read
        // would grow our output without bound: stop reading until it catches up.
        if (this.#writer.queuedBytes > WRITE_HIGH_WATER) await this.#writer.drained();
      }
    } catch (err) {
      if (err instanceof ConnectionError) {
        // Tell the peer why, but do not wait long for a peer that does not read.
        this.#goingAway = true;
        this.#emit(FrameType.GOAWAY, 0, 0, encodeGoaway(this.#lastStreamId, err.code));
        this.#writer.afterFlush(() => this.#teardown());
        const timer = setTimeout(() => this.#teardown(), GOAWAY_LINGER_MS);
        await this.closed;
        clearTimeout(timer);
      }
      // Anything else is the socket failing (reset by peer): nothing to answer.
    }
    this.#teardown();
  }

  /** Starts a graceful shutdown: GOAWAY, finish calls in flight, then close. */
  shutdown(): void {
    if (this.#goingAway || this.#isClosed) return;
    this.#goingAway = true;
    if (!this.#prefaceSeen) return this.#teardown();
    this.#emit(FrameType.GOAWAY, 0, 0, encodeGoaway(this.#lastStreamId, H2Error.NO_ERROR));
    this.#maybeFinishShutdown();
  }

  /** Closes at once, cancelling calls in flight. Idempotent. */
  close(): void {
    this.#teardown();
  }

  #process(): void {
    if (!this.#prefaceSeen) {
      const preface = this.#reader.take(CLIENT_PREFACE.length);
      if (preface === null) return;
      if (!preface.every((b, i) => b === CLIENT_PREFACE[i])) {
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, "bad client preface");
      }
      this.#prefaceSeen = true;
    }
    while (!this.#isClosed) {
      const frame = this.#reader.next();
      if (frame === null) return;
      if (frame === "too-large") {
        throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "frame too large");
      }
      this.#onFrame(frame);
    }
  }

  #onFrame(f: Frame): void {
    if (this.#headerBlocks.pending && f.type !== FrameType.CONTINUATION) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, "expected CONTINUATION");
    }
    const needsStream = f.type === FrameType.DATA || f.type === FrameType.HEADERS ||
      f.type === FrameType.PRIORITY || f.type === FrameType.RST_STREAM ||
      f.type === FrameType.CONTINUATION;
    const needsZero = f.type === FrameType.SETTINGS || f.type === FrameType.PING ||
      f.type === FrameType.GOAWAY;
    if (needsStream && f.streamId === 0 || needsZero && f.streamId !== 0) {
      throw new ConnectionError(
        H2Error.PROTOCOL_ERROR,
        `frame type ${f.type} on stream ${f.streamId}`,
      );
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.#onData(f);
      case FrameType.HEADERS:
      case FrameType.CONTINUATION:
        return this.#onHeaderFragment(f);
      case FrameType.RST_STREAM:
        if (f.payload.length !== 4) {
          throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "RST_STREAM size");
        }
        return this.#onReset(f.streamId);
      case FrameType.SETTINGS:
        return this.#onSettings(f);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        if (f.payload.length !== 8) {
          throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "PING size");
        }
        if (!(f.flags & Flag.ACK)) this.#emit(FrameType.PING, Flag.ACK, 0, f.payload.slice());
        return;
      case FrameType.GOAWAY:
        this.#goingAway = true;
        return this.#maybeFinishShutdown();
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(f);
      default:
        return; // PRIORITY and unknown types are ignored (RFC 9113 §5.3.2, §4.1)
    }
  }

  #onData(f: Frame): void {
    const len = f.payload.length;
    if (!this.#recv.receive(len)) {
      throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "connection window overrun");
    }
    const inc = this.#recv.takeUpdate();
    if (inc > 0) this.#emit(FrameType.WINDOW_UPDATE, 0, 0, u32(inc));
    const s = this.#streams.get(f.streamId);
    if (!s) {
      if (f.streamId > this.#lastStreamId) {
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA on idle stream ${f.streamId}`);
      }
      return; // a stream we already finished or reset: the bytes were in flight
    }
    if (s.remoteClosed) return this.#resetStream(s, H2Error.STREAM_CLOSED);
    if (!s.recv.receive(len)) return this.#resetStream(s, H2Error.FLOW_CONTROL_ERROR);
    const data = unpad(f);
    if (data === null) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "bad padding");
    const endStream = (f.flags & Flag.END_STREAM) !== 0;
    if (!endStream) {
      const streamInc = s.recv.takeUpdate();
      if (streamInc > 0) this.#emit(FrameType.WINDOW_UPDATE, 0, s.id, u32(streamInc));
    }
    onRequestData(this, s, data, endStream);
  }

  #onHeaderFragment(f: Frame): void {
    if (f.type === FrameType.HEADERS && f.streamId % 2 === 0) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, `HEADERS on even stream ${f.streamId}`);
    }
    const h = this.#headerBlocks.add(f);
    if (h === null) return;
    let fields: HeaderField[];
    try {
      fields = this.#decoder.decode(h.block);
    } catch {
      throw new ConnectionError(H2Error.COMPRESSION_ERROR, "bad header block");
    }
    this.#onHeaders(h.streamId, fields, h.endStream);
  }

  #onHeaders(streamId: number, fields: HeaderField[], endStream: boolean): void {
    const existing = this.#streams.get(streamId);
    if (existing) {
      // Request trailers: gRPC clients send none, but they are legal and end the stream.
      if (!endStream) return this.#resetStream(existing, H2Error.PROTOCOL_ERROR);
      return onRequestData(this, existing, new Uint8Array(0), true);
    }
    if (streamId <= this.#lastStreamId) return; // closed stream: decoded only to keep HPACK state
    this.#lastStreamId = streamId;
    // Handlers of reset streams may still run; counting them too keeps a client that
    // opens and resets streams at once ("rapid reset") from piling up server work.
    if (
      this.#goingAway || this.#streams.size >= this.limits.maxConcurrentStreams ||
      this.#running >= 2 * this.limits.maxConcurrentStreams
    ) {
      return this.#emit(FrameType.RST_STREAM, 0, streamId, u32(H2Error.REFUSED_STREAM));
    }
    const headers = new Map<string, string>();
    let listSize = 0;
    for (const [name, value] of fields) {
      listSize += name.length + value.length + 32; // RFC 9113 §6.5.2
      // Stop before joining repeated names of an oversized list (an HPACK bomb);
      // openCall answers RESOURCE_EXHAUSTED from listSize.
      if (listSize > this.limits.maxHeaderListSize) break;
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev},${value}`);
    }
    const path = headers.get(":path") ?? "";
    const handler = Object.hasOwn(this.methods, path) ? this.methods[path] : undefined;
    const windows = { recv: this.limits.initialWindowSize, send: this.#peerInitialWindow };
    const s = new H2Stream(streamId, headers, handler, windows, this.limits.maxMessageSize);
    this.#streams.set(streamId, s);
    openCall(this, s, listSize, endStream);
  }

  #onReset(streamId: number): void {
    const s = this.#streams.get(streamId);
    if (!s) return;
    s.discard(new DOMException("the client cancelled the call", "AbortError"));
    this.#forget(s);
  }

  #onSettings(f: Frame): void {
    if (f.flags & Flag.ACK) {
      if (f.payload.length !== 0) {
        throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "SETTINGS ack size");
      }
      return;
    }
    const peer = decodeSettings(f.payload);
    if (peer.headerTableSize !== undefined) this.#send.setHeaderTableSize(peer.headerTableSize);
    if (peer.maxFrameSize !== undefined) this.#send.maxFrameSize = peer.maxFrameSize;
    if (peer.initialWindowSize !== undefined) {
      const delta = peer.initialWindowSize - this.#peerInitialWindow;
      this.#peerInitialWindow = peer.initialWindowSize;
      for (const s of this.#streams.values()) s.sendWindow += delta;
    }
    this.#emit(FrameType.SETTINGS, Flag.ACK, 0);
    this.#send.pump();
  }

  #onWindowUpdate(f: Frame): void {
    if (f.payload.length !== 4) {
      throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "WINDOW_UPDATE size");
    }
    const inc = new DataView(f.payload.buffer, f.payload.byteOffset, 4).getUint32(0) & 0x7fffffff;
    if (f.streamId === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "zero WINDOW_UPDATE");
      return this.#send.grow(inc);
    } else {
      const s = this.#streams.get(f.streamId);
      if (!s) return;
      if (inc === 0) return this.#resetStream(s, H2Error.PROTOCOL_ERROR);
      s.sendWindow += inc;
      if (s.sendWindow > MAX_WINDOW_SIZE) return this.#resetStream(s, H2Error.FLOW_CONTROL_ERROR);
    }
    this.#send.pump();
  }

  /** Sends a header block on a stream (CallHost). */
  sendHeaders(s: H2Stream, fields: HeaderField[], endStream: boolean): void {
    this.#send.sendHeaders(s, fields, endStream);
  }

  /** Schedules a stream's queued output and trailers (CallHost). */
  queue(s: H2Stream): void {
    this.#send.queue(s);
  }

  /** Counts a running handler (CallHost). */
  handlerStarted(done: Promise<void>): void {
    this.#running++;
    done.finally(() => this.#running--);
  }

  /** The response is complete: ask the client to stop sending if it still is, forget the stream. */
  ended(s: H2Stream): void {
    if (!s.remoteClosed) this.#emit(FrameType.RST_STREAM, 0, s.id, u32(H2Error.NO_ERROR));
    s.discard(new DOMException("the call has ended", "AbortError"));
    this.#forget(s);
  }

  #resetStream(s: H2Stream, code: number): void {
    this.#emit(FrameType.RST_STREAM, 0, s.id, u32(code));
    s.discard(new DOMException(`stream reset with code ${code}`, "AbortError"));
    this.#forget(s);
  }

  #forget(s: H2Stream): void {
    this.#streams.delete(s.id);
    this.#send.remove(s);
    this.#maybeFinishShutdown();
  }

  #maybeFinishShutdown(): void {
    if (this.#goingAway && this.#streams.size === 0) {
      this.#writer.afterFlush(() => this.#teardown());
    }
  }

  #emit(type: number, flags: number, streamId: number, payload?: Uint8Array): void {
    this.#writer.emit(encodeFrame(type, flags, streamId, payload));
  }

  #teardown(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#writer.close();
    for (const s of this.#streams.values()) {
      s.discard(new DOMException("the connection closed", "AbortError"));
    }
    this.#streams.clear();
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
    this.#resolveClosed();
  }
}
