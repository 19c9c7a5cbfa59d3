/**
 * HTTP/2 frame codec (RFC 9113 §4): the 9-byte frame header, frame types,
 * flags, error codes and settings identifiers, and a reader that cuts frames
 * out of the bytes a connection receives.
 *
 * @module
 */

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags (RFC 9113 §6); END_STREAM and ACK share a bit. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** Settings identifiers (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The connection preface every client sends first (RFC 9113 §3.4). */
export const CLIENT_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Length of the frame header (RFC 9113 §4.1). */
export const FRAME_HEADER_SIZE = 9;

/** Default and smallest SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;

/** Default SETTINGS_INITIAL_WINDOW_SIZE and connection window (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW_SIZE = 65_535;

/** Largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW_SIZE = 2 ** 31 - 1;

/** One decoded frame; `payload` is a view into the reader's buffer, valid until the next read. */
export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array<ArrayBuffer>;
}

/**
 * Encodes one frame: header plus payload in a fresh buffer.
 *
 * @param type frame type
 * @param flags frame flags
 * @param streamId stream identifier (31 bits)
 * @param payload frame payload, at most 2^24-1 bytes
 * @returns the frame's bytes
 */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  const n = payload.length;
  out[0] = (n >>> 16) & 0xff;
  out[1] = (n >>> 8) & 0xff;
  out[2] = n & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId & 0x7fffffff);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/** Encodes a SETTINGS payload from identifier/value pairs (RFC 9113 §6.5.1). */
export function encodeSettings(settings: ReadonlyArray<[number, number]>): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(settings.length * 6);
  const view = new DataView(out.buffer);
  settings.forEach(([id, value], i) => {
    view.setUint16(i * 6, id);
    view.setUint32(i * 6 + 2, value);
  });
  return out;
}

/** Encodes a 32-bit big-endian payload (RST_STREAM code, WINDOW_UPDATE increment). */
export function u32(value: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0);
  return out;
}

/** Encodes a GOAWAY payload (RFC 9113 §6.8). */
export function encodeGoaway(lastStreamId: number, code: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, lastStreamId & 0x7fffffff);
  view.setUint32(4, code);
  return out;
}

/**
 * Accumulates received bytes and yields whole frames. Frames longer than
 * `maxFrameSize` are reported by {@linkcode FrameReader.next} returning
 * `"too-large"` so the connection can answer FRAME_SIZE_ERROR.
 */
export class FrameReader {
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  readonly maxFrameSize: number;

  constructor(maxFrameSize: number) {
    this.maxFrameSize = maxFrameSize;
  }

  /** Bytes buffered but not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Appends received bytes, compacting or growing the buffer as needed. */
  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.#end - this.#start;
      const need = live + chunk.length;
      const next = need > this.#buf.length
        ? new Uint8Array(Math.max(need, this.#buf.length * 2))
        : this.#buf;
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Consumes `n` raw bytes (the client preface) if buffered; returns them or null. */
  take(n: number): Uint8Array<ArrayBuffer> | null {
    if (this.buffered < n) return null;
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** The next whole frame, null when more bytes are needed, or "too-large". */
  next(): Frame | null | "too-large" {
    if (this.buffered < FRAME_HEADER_SIZE) return null;
    const b = this.#buf;
    const s = this.#start;
    const length = (b[s] << 16) | (b[s + 1] << 8) | b[s + 2];
    if (length > this.maxFrameSize) return "too-large";
    if (this.buffered < FRAME_HEADER_SIZE + length) return null;
    const streamId = ((b[s + 5] << 24) | (b[s + 6] << 16) | (b[s + 7] << 8) | b[s + 8]) &
      0x7fffffff;
    const payload = b.subarray(s + FRAME_HEADER_SIZE, s + FRAME_HEADER_SIZE + length);
    this.#start += FRAME_HEADER_SIZE + length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return { type: b[s + 3], flags: b[s + 4], streamId, payload };
  }
}

/**
 * Strips padding (and the priority fields of HEADERS) from a payload.
 *
 * @returns the unpadded payload, or null when the padding is longer than the payload
 */
export function unpad(frame: Frame): Uint8Array<ArrayBuffer> | null {
  let p = frame.payload;
  let pad = 0;
  if (frame.flags & Flag.PADDED) {
    if (p.length < 1) return null;
    pad = p[0];
    p = p.subarray(1);
  }
  if (frame.type === FrameType.HEADERS && frame.flags & Flag.PRIORITY) {
    if (p.length < 5) return null;
    p = p.subarray(5);
  }
  if (pad > p.length) return null;
  return p.subarray(0, p.length - pad);
}

/** A connection error (RFC 9113 §5.4.1): the connection ends with GOAWAY and this code. */
export class ConnectionError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}
