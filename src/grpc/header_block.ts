/**
 * Reassembly of header blocks split over HEADERS and CONTINUATION frames
 * (RFC 9113 §4.3, §6.10): nothing else may come between them, and the
 * compressed size is bounded before decoding.
 *
 * @module
 */

import { ConnectionError, Flag, type Frame, FrameType, H2Error, unpad } from "./frame.ts";

/** A complete, still compressed header block. */
export interface HeaderBlock {
  streamId: number;
  endStream: boolean;
  block: Uint8Array;
}

/** Joins the fragments of one header block at a time. */
export class HeaderBlockReader {
  #pending: { streamId: number; endStream: boolean; chunks: Uint8Array[]; size: number } | null =
    null;
  readonly maxBlockSize: number;

  /** @param maxBlockSize largest compressed block accepted (ENHANCE_YOUR_CALM beyond) */
  constructor(maxBlockSize: number) {
    this.maxBlockSize = maxBlockSize;
  }

  /** True between a HEADERS without END_HEADERS and the last CONTINUATION. */
  get pending(): boolean {
    return this.#pending !== null;
  }

  /**
   * Takes a HEADERS or CONTINUATION frame.
   *
   * @returns the block once END_HEADERS arrives, else null
   * @throws {ConnectionError} on a misplaced CONTINUATION, bad padding or an oversized block
   */
  add(f: Frame): HeaderBlock | null {
    let p = this.#pending;
    if (f.type === FrameType.HEADERS) {
      const fragment = unpad(f);
      if (fragment === null) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "bad padding");
      const endStream = (f.flags & Flag.END_STREAM) !== 0;
      p = { streamId: f.streamId, endStream, chunks: [fragment.slice()], size: fragment.length };
    } else {
      if (!p || p.streamId !== f.streamId) {
        throw new ConnectionError(
          H2Error.PROTOCOL_ERROR,
          `unexpected CONTINUATION on stream ${f.streamId}`,
        );
      }
      p.chunks.push(f.payload.slice());
      p.size += f.payload.length;
    }
    if (p.size > this.maxBlockSize) {
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `header block of ${p.size} bytes`);
    }
    if (!(f.flags & Flag.END_HEADERS)) {
      this.#pending = p;
      return null;
    }
    this.#pending = null;
    const block = new Uint8Array(p.size);
    let off = 0;
    for (const c of p.chunks) {
      block.set(c, off);
      off += c.length;
    }
    return { streamId: p.streamId, endStream: p.endStream, block };
  }
}
