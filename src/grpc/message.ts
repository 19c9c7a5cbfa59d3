/**
 * gRPC message framing (gRPC over HTTP/2, "Length-Prefixed-Message"): a
 * 1-byte compressed flag, a 4-byte big-endian length, then the message.
 *
 * @module
 */

/** Length of the message prefix. */
export const MESSAGE_PREFIX_SIZE = 5;

/**
 * Frames one uncompressed message.
 *
 * @param message the serialized message
 * @returns prefix plus message in one buffer
 */
export function encodeMessage(message: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(MESSAGE_PREFIX_SIZE + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, MESSAGE_PREFIX_SIZE);
  return out;
}

/** One message cut out of a request body. */
export interface ReceivedMessage {
  compressed: boolean;
  data: Uint8Array<ArrayBuffer>;
}

/**
 * Collects DATA payloads of one stream and cuts them into messages, refusing
 * any message longer than `maxMessageSize` as soon as its prefix arrives.
 */
export class MessageReader {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  readonly maxMessageSize: number;

  constructor(maxMessageSize: number) {
    this.maxMessageSize = maxMessageSize;
  }

  /** Bytes received but not yet returned as messages. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Appends a copy of a DATA payload. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk.slice());
    this.#buffered += chunk.length;
  }

  /**
   * The next whole message, null when more bytes are needed, or "too-large"
   * when the announced length exceeds the limit.
   */
  next(): ReceivedMessage | null | "too-large" {
    if (this.#buffered < MESSAGE_PREFIX_SIZE) return null;
    const head = this.#peek(MESSAGE_PREFIX_SIZE);
    const length = new DataView(head.buffer).getUint32(1);
    if (length > this.maxMessageSize) return "too-large";
    if (this.#buffered < MESSAGE_PREFIX_SIZE + length) return null;
    const all = this.#peek(MESSAGE_PREFIX_SIZE + length);
    this.#consume(MESSAGE_PREFIX_SIZE + length);
    return { compressed: head[0] !== 0, data: all.slice(MESSAGE_PREFIX_SIZE) };
  }

  #peek(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    let off = 0;
    for (const c of this.#chunks) {
      if (off >= n) break;
      const part = c.subarray(0, n - off);
      out.set(part, off);
      off += part.length;
    }
    return out;
  }

  #consume(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const c = this.#chunks[0];
      if (c.length <= n) {
        this.#chunks.shift();
        n -= c.length;
      } else {
        this.#chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }
}
