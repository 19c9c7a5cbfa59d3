/**
 * Reading and writing the few C structs that cross the FFI boundary. Offsets
 * are pinned on the C side by `native/src/ffi_layout.c`.
 *
 * @module
 */

const decoder = new TextDecoder();

/** The NUL-terminated string of at most `max` bytes at `offset`. */
export function cStringAt(bytes: Uint8Array, offset: number, max: number): string {
  const field = bytes.subarray(offset, offset + max);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** A little-endian view of `bytes`. */
export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A u64 field as a number; throws if it cannot be represented exactly. */
export function u64At(v: DataView, offset: number): number {
  const x = v.getBigUint64(offset, true);
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`u64 field at ${offset} is ${x}, beyond 2^53`);
  }
  return Number(x);
}

/** Copies `size` bytes of a C struct that native code owns. */
export function copyStruct(ptr: Deno.PointerObject, size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  new Deno.UnsafePointerView(ptr).copyInto(out);
  return out;
}

/** The address of `buf` as a u64, for a pointer field inside a struct. */
export function addressOf(buf: Uint8Array<ArrayBuffer> | null): bigint {
  return buf === null ? 0n : Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf));
}
