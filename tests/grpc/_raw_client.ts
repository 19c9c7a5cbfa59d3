/**
 * A raw HTTP/2 client for protocol tests: writes hand-made frames on a unix
 * socket and reads the server's frames back, decoding header blocks.
 *
 * @module
 */

import {
  CLIENT_PREFACE,
  encodeFrame,
  encodeSettings,
  Flag,
  type Frame,
  FrameReader,
  FrameType,
} from "../../src/grpc/frame.ts";
import {
  createHeaderDecoder,
  createHeaderEncoder,
  type HeaderField,
} from "../../src/grpc/hpack.ts";
import { encodeMessage } from "../../src/grpc/message.ts";

/** A received frame, with its header block decoded for HEADERS. */
export interface ReceivedFrame extends Frame {
  headers?: Map<string, string>;
}

/** One raw connection. */
export class RawClient {
  readonly conn: Deno.UnixConn;
  #reader = new FrameReader(2 ** 24 - 1);
  #decoder = createHeaderDecoder();
  #encoder = createHeaderEncoder();
  #buf = new Uint8Array(64 * 1024);
  eof = false;

  private constructor(conn: Deno.UnixConn) {
    this.conn = conn;
  }

  /** Connects; with `handshake` sends the preface and an empty or given SETTINGS. */
  static async connect(
    path: string,
    handshake: boolean | Array<[number, number]> = true,
  ): Promise<RawClient> {
    const c = new RawClient(await Deno.connect({ transport: "unix", path }));
    if (handshake) {
      await c.write(CLIENT_PREFACE);
      await c.frame(FrameType.SETTINGS, 0, 0, encodeSettings(handshake === true ? [] : handshake));
    }
    return c;
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Promise<void> {
    return this.write(encodeFrame(type, flags, streamId, payload));
  }

  /** Encodes a request header block for `path` with extra fields. */
  requestBlock(path: string, extra: HeaderField[] = []): Uint8Array {
    return this.#encoder.encode([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", path],
      [":authority", "localhost"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ...extra,
    ]);
  }

  /** Sends a whole unary request: HEADERS, then one message with END_STREAM. */
  async request(streamId: number, path: string, message: Uint8Array, extra: HeaderField[] = []) {
    await this.frame(FrameType.HEADERS, Flag.END_HEADERS, streamId, this.requestBlock(path, extra));
    await this.frame(FrameType.DATA, Flag.END_STREAM, streamId, encodeMessage(message));
  }

  /** Reads frames until `done` returns true for one, the socket ends, or `timeoutMs` passes. */
  async readUntil(done: (f: ReceivedFrame) => boolean, timeoutMs = 2000): Promise<ReceivedFrame[]> {
    const frames: ReceivedFrame[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"timeout">((resolve) =>
      timer = setTimeout(() => resolve("timeout"), timeoutMs)
    );
    try {
      for (;;) {
        for (let f = this.#reader.next(); f !== null; f = this.#reader.next()) {
          if (f === "too-large") throw new Error("frame too large");
          const r: ReceivedFrame = { ...f, payload: f.payload.slice() };
          if (f.type === FrameType.HEADERS) r.headers = new Map(this.#decoder.decode(r.payload));
          frames.push(r);
          if (done(r)) return frames;
        }
        // A read left pending by a timeout is picked up by the next call.
        this.#pending ??= this.conn.read(this.#buf).catch(() => null);
        const n = await Promise.race([this.#pending, expired]);
        if (n === "timeout") return frames;
        this.#pending = null;
        if (n === null) {
          this.eof = true;
          return frames;
        }
        this.#reader.push(this.#buf.subarray(0, n));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #pending: Promise<number | null> | null = null;

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }
}

/** True for a frame that ends stream `id` (END_STREAM or RST_STREAM). */
export function endsStream(id: number): (f: Frame) => boolean {
  return (f) =>
    f.streamId === id &&
    (f.type === FrameType.RST_STREAM ||
      (f.type === FrameType.HEADERS || f.type === FrameType.DATA) &&
        (f.flags & Flag.END_STREAM) !== 0);
}
