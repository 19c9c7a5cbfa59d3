/**
 * `native/src/image.h`: the merged view of a stack of layers (spec §2.12).
 *
 * @module
 */

import { check } from "./errors.ts";
import { Handle } from "./handle.ts";
import { lazyLibrary, outPointer, readPointer } from "./library.ts";
import type { ReadOnlyLayer, WritableLayer } from "./lsmt.ts";

const lib = lazyLibrary({
  obd_image_open: { parameters: ["buffer", "usize", "pointer", "buffer"], result: "i32" },
  obd_image_size: { parameters: ["pointer"], result: "u64" },
  obd_image_segment_count: { parameters: ["pointer"], result: "usize" },
  obd_image_pread: { parameters: ["pointer", "buffer", "usize", "u64"], result: "i64" },
  obd_image_pwrite: { parameters: ["pointer", "buffer", "usize", "u64"], result: "i64" },
  obd_image_next_data: { parameters: ["pointer", "u64", "buffer", "buffer"], result: "i32" },
  obd_image_discard: { parameters: ["pointer", "u64", "u64"], result: "i32" },
  obd_image_close: { parameters: ["pointer"], result: "i32" },
});

/** A virtual block device: read-only layers (bottom first) and an optional writable layer. */
export class Image {
  readonly #handle: Handle;
  /** Virtual size in bytes. */
  readonly size: number;

  private constructor(ptr: Deno.PointerObject) {
    this.#handle = new Handle(ptr, "image");
    this.size = Number(lib().obd_image_size(ptr));
  }

  /** Stacks `lowers` (bottom first) and `upper`; the image takes ownership of all of them. */
  static open(lowers: ReadOnlyLayer[], upper?: WritableLayer): Image {
    const ptrs = new BigUint64Array(lowers.map((l) => Deno.UnsafePointer.value(l.take())));
    const up = upper ? upper.take() : null;
    const out = outPointer();
    check(
      lib().obd_image_open(new Uint8Array(ptrs.buffer), BigInt(lowers.length), up, out),
      "open image",
    );
    return new Image(readPointer(out));
  }

  /** The native pointer, for a call that borrows it (e.g. an async read in `ffi/cache.ts`). */
  get ptr(): Deno.PointerObject {
    return this.#handle.ptr;
  }

  /** Segments in the merged read-only index. */
  segmentCount(): number {
    return Number(lib().obd_image_segment_count(this.#handle.ptr));
  }

  /** Reads at byte `offset` (multiple of 512); returns bytes read (short at the end). */
  pread(buf: Uint8Array<ArrayBuffer>, offset: number): number {
    const rc = lib().obd_image_pread(this.#handle.ptr, buf, BigInt(buf.byteLength), BigInt(offset));
    return Number(check(rc, `read image at ${offset}`));
  }

  /**
   * The first run of data at or after byte `offset` — bytes backed by a layer
   * file, not holes or zeroed ranges — as `[start, end)`, or null when only
   * zeros follow.
   */
  nextData(offset: number): [number, number] | null {
    const start = new BigUint64Array(1);
    const end = new BigUint64Array(1);
    const found = lib().obd_image_next_data(
      this.#handle.ptr,
      BigInt(offset),
      new Uint8Array(start.buffer),
      new Uint8Array(end.buffer),
    );
    return found === 1 ? [Number(start[0]), Number(end[0])] : null;
  }

  /** Writes through the writable layer. */
  pwrite(buf: Uint8Array<ArrayBuffer>, offset: number): void {
    const rc = lib().obd_image_pwrite(
      this.#handle.ptr,
      buf,
      BigInt(buf.byteLength),
      BigInt(offset),
    );
    check(rc, `write image at ${offset}`);
  }

  /** Discards through the writable layer. */
  discard(offset: number, length: number): void {
    const rc = lib().obd_image_discard(this.#handle.ptr, BigInt(offset), BigInt(length));
    check(rc, `discard image at ${offset}`);
  }

  /** Closes every layer; closing twice is fine. */
  close(): void {
    const p = this.#handle.release();
    if (p !== null) check(lib().obd_image_close(p), "close image");
  }
}
