/**
 * `native/src/crc32c.h`: raw CRC32C (no pre- or post-inversion, spec §0.1).
 *
 * @module
 */

import { lazyLibrary } from "./library.ts";

const lib = lazyLibrary({
  crc32c_raw: { parameters: ["u32", "buffer", "usize"], result: "u32" },
  crc32c_raw_sw: { parameters: ["u32", "buffer", "usize"], result: "u32" },
  crc32c_hw_available: { parameters: [], result: "i32" },
});

/** Raw CRC32C of `data` continuing from `seed` (SSE4.2 when available). */
export function crc32c(seed: number, data: Uint8Array<ArrayBuffer>): number {
  return lib().crc32c_raw(seed >>> 0, data, BigInt(data.byteLength));
}

/** The table-driven software path alone. */
export function crc32cSoftware(seed: number, data: Uint8Array<ArrayBuffer>): number {
  return lib().crc32c_raw_sw(seed >>> 0, data, BigInt(data.byteLength));
}

/** Whether {@linkcode crc32c} uses the SSE4.2 instruction. */
export function crc32cHardware(): boolean {
  return lib().crc32c_hw_available() === 1;
}
