import { sealWritableLayer } from "../../ffi/lsmt.ts";

/**
 * Seals the writable layer `data` + `index` in place into a read-only layer
 * (spec §2.8), as `overlaybd-commit --seal` does: the data stays where it
 * was written, its index and a trailer are appended to `data`, and the
 * index file is no longer needed. Far cheaper than {@linkcode commitLayer}
 * (no data is copied), at the price of keeping overwritten bytes. Sealing a
 * file that already ends in this layer's seal changes nothing, so a step
 * that failed after sealing can be retried.
 *
 * @example
 * ```ts ignore
 * const records = sealLayer("block/writable_data", "block/writable_index");
 * await Deno.rename("block/writable_data", "fs/overlaybd.sealed");
 * ```
 *
 * @returns the number of index records of the sealed layer
 * @throws {NotFoundError} when `data` does not exist
 * @throws {CorruptDataError} when `data` is not a writable layer's data file
 * @throws {InvalidArgumentError} when the index has more records than a read-only layer may hold
 */
export function sealLayer(data: string, index: string): number {
  return sealWritableLayer(data, index);
}
