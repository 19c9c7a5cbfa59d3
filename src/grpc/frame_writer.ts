/**
 * The write side of a connection: frames queued in one event-loop turn go
 * out in one socket write, in order; a failed write reports once and drops
 * everything after it.
 *
 * @module
 */

/** Serialises writes of frames to one socket. */
export class FrameWriter {
  #conn: Deno.Conn;
  #onError: () => void;
  #out: Uint8Array[] = [];
  #queued = 0;
  #flushing = false;
  #closed = false;
  #flushedCallbacks: Array<() => void> = [];

  /**
   * @param conn the socket, owned by the caller
   * @param onError called once when a write fails (peer gone)
   */
  constructor(conn: Deno.Conn, onError: () => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Queues bytes for sending; a no-op once closed. */
  emit(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#out.push(bytes);
    this.#queued += bytes.length;
    if (!this.#flushing) void this.#flush();
  }

  /** Runs `fn` once everything queued so far is written (or writing failed). */
  afterFlush(fn: () => void): void {
    if (!this.#flushing && this.#out.length === 0) return fn();
    this.#flushedCallbacks.push(fn);
  }

  /** Bytes queued and not yet written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Resolves once everything queued so far is written (or writing failed). */
  drained(): Promise<void> {
    return new Promise((resolve) => this.afterFlush(resolve));
  }

  /** Drops queued bytes and stops writing; the caller closes the socket. */
  close(): void {
    this.#closed = true;
    this.#out = [];
    this.#queued = 0;
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      // Let the frames of the current event-loop turn accumulate into one write.
      await Promise.resolve();
      while (this.#out.length > 0 && !this.#closed) {
        const chunks = this.#out;
        this.#out = [];
        const buf = chunks.length === 1 ? chunks[0] : concat(chunks);
        for (let off = 0; off < buf.length;) off += await this.#conn.write(buf.subarray(off));
        this.#queued -= buf.length;
      }
    } catch {
      this.#closed = true;
      this.#queued = 0;
      this.#onError();
    } finally {
      this.#flushing = false;
    }
    const callbacks = this.#flushedCallbacks;
    this.#flushedCallbacks = [];
    for (const cb of callbacks) cb();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
