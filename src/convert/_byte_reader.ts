/**
 * Exact-size reads over a stream of chunks: what a tar parser needs (a
 * 512-byte header, then `size` bytes of body) from a stream that hands out
 * chunks of whatever size the decompressor produced.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/** Pulls bytes out of `stream` in the sizes asked for; counts what it consumed. */
export class ByteReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>;
  #chunk: Uint8Array<ArrayBuffer> = EMPTY;
  #done = false;
  /** Bytes consumed so far: the offset of the next byte in the stream. */
  position = 0;

  constructor(stream: ReadableStream<Uint8Array<ArrayBuffer>>) {
    this.#reader = stream.getReader();
  }

  /** Makes the current chunk non-empty; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    while (this.#chunk.byteLength === 0) {
      if (this.#done) return false;
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#done = true;
        return false;
      }
      this.#chunk = value;
    }
    return true;
  }

  #take(n: number): Uint8Array<ArrayBuffer> {
    const out = this.#chunk.subarray(0, n);
    this.#chunk = this.#chunk.subarray(n);
    this.position += n;
    return out;
  }

  /** Exactly `n` bytes, or fewer only where the stream ends. */
  async read(n: number): Promise<Uint8Array<ArrayBuffer>> {
    if (!(await this.#fill())) return EMPTY;
    if (this.#chunk.byteLength >= n) return this.#take(n);
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n && (await this.#fill())) {
      const part = this.#take(Math.min(n - got, this.#chunk.byteLength));
      out.set(part, got);
      got += part.byteLength;
    }
    return got === n ? out : out.subarray(0, got);
  }

  /** The next 1..max bytes as they arrived (no copy), or null at the end. */
  async readSome(max: number): Promise<Uint8Array<ArrayBuffer> | null> {
    if (!(await this.#fill())) return null;
    return this.#take(Math.min(max, this.#chunk.byteLength));
  }

  /**
   * The next `n` bytes when they are all in the chunk at hand (no copy, no
   * wait), else undefined and nothing is consumed.
   */
  takeBuffered(n: number): Uint8Array<ArrayBuffer> | undefined {
    return this.#chunk.byteLength >= n ? this.#take(n) : undefined;
  }

  /** Skips `n` bytes; returns how many there were. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0 && (await this.#fill())) {
      left -= this.#take(Math.min(left, this.#chunk.byteLength)).byteLength;
    }
    return n - left;
  }

  /** Stops reading; the source is cancelled. Calling it twice is fine. */
  async cancel(): Promise<void> {
    this.#done = true;
    this.#chunk = EMPTY;
    await this.#reader.cancel().catch(() => {});
  }
}
