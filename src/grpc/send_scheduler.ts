/**
 * The send side of a connection: response header blocks split to the
 * peer's frame size, and DATA released only within the connection's and
 * each stream's send window (RFC 9113 §6.9), followed by the trailers.
 *
 * @module
 */

import {
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  encodeFrame,
  Flag,
  FrameType,
  H2Error,
  MAX_WINDOW_SIZE,
} from "./frame.ts";
import type { FrameWriter } from "./frame_writer.ts";
import { createHeaderEncoder, type HeaderField } from "./hpack.ts";
import type { H2Stream } from "./stream.ts";

/** Schedules the output of all streams of one connection. */
export class SendScheduler {
  #writer: FrameWriter;
  #encoder = createHeaderEncoder();
  #sending = new Set<H2Stream>();
  #window = DEFAULT_WINDOW_SIZE;
  #onEnded: (s: H2Stream) => void;
  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;

  /** @param onEnded called after a stream's trailers were queued for writing */
  constructor(writer: FrameWriter, onEnded: (s: H2Stream) => void) {
    this.#writer = writer;
    this.#onEnded = onEnded;
  }

  /** Applies the peer's SETTINGS_HEADER_TABLE_SIZE to our encoder. */
  setHeaderTableSize(size: number): void {
    this.#encoder.setTableSize(size);
  }

  /**
   * Adds a connection-level WINDOW_UPDATE increment.
   *
   * @throws {ConnectionError} FLOW_CONTROL_ERROR past 2^31-1
   */
  grow(inc: number): void {
    this.#window += inc;
    if (this.#window > MAX_WINDOW_SIZE) {
      throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "connection send window overflow");
    }
    this.pump();
  }

  /** Sends a header block as HEADERS plus CONTINUATION frames. */
  sendHeaders(s: H2Stream, fields: HeaderField[], endStream: boolean): void {
    const block = this.#encoder.encode(fields);
    for (let off = 0, first = true; first || off < block.length; first = false) {
      const part = block.subarray(off, off + this.maxFrameSize);
      off += part.length;
      const flags = (off >= block.length ? Flag.END_HEADERS : 0) |
        (first && endStream ? Flag.END_STREAM : 0);
      const type = first ? FrameType.HEADERS : FrameType.CONTINUATION;
      this.#writer.emit(encodeFrame(type, flags, s.id, part));
    }
  }

  /** Marks a stream as having output or trailers, and sends what the windows allow. */
  queue(s: H2Stream): void {
    this.#sending.add(s);
    this.pump();
  }

  /** Forgets a stream that was reset or closed. */
  remove(s: H2Stream): void {
    this.#sending.delete(s);
  }

  /** Sends queued DATA in stream order as far as the windows allow, then due trailers. */
  pump(): void {
    for (const s of this.#sending) {
      while (s.outbound.length > 0 && this.#window > 0 && s.sendWindow > 0) {
        const chunk = s.outbound[0];
        const n = Math.min(chunk.length, this.#window, s.sendWindow, this.maxFrameSize);
        this.#writer.emit(encodeFrame(FrameType.DATA, 0, s.id, chunk.subarray(0, n)));
        this.#window -= n;
        s.sendWindow -= n;
        s.outboundBytes -= n;
        if (n === chunk.length) s.outbound.shift();
        else s.outbound[0] = chunk.subarray(n);
      }
      if (s.outbound.length === 0) {
        this.#sending.delete(s);
        if (s.trailers) {
          this.sendHeaders(s, s.trailers, true);
          s.trailers = null;
          this.#onEnded(s);
        }
      }
      s.wake();
    }
  }
}
