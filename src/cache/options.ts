import { InvalidArgumentError } from "../errors.ts";

/** Options of `openBlobCache`, named after spec §6 `cacheConfig` keys. */
export interface BlobCacheOptions {
  /** Directory of the cache files (created if missing); default `/opt/overlaybd/registry_cache`. */
  cacheDir?: string;
  /** Capacity in GiB, fractions allowed; default 4. */
  cacheSizeGB?: number;
  /** Refill unit in bytes: a power of two, multiple of 4096, at most 4 MiB; default 262144. */
  refillSize?: number;
  /** Bound on one fetch, in milliseconds (0: none); default 30000 (spec §6: registry timeout). */
  fetchTimeoutMs?: number;
}

/** {@linkcode BlobCacheOptions} with every default applied and checked. */
export interface ResolvedBlobCacheOptions {
  cacheDir: string;
  capBytes: number;
  refillSize: number;
  fetchTimeoutMs: number;
}

/** Defaults of spec §6. */
export const BLOB_CACHE_DEFAULTS = {
  cacheDir: "/opt/overlaybd/registry_cache",
  cacheSizeGB: 4,
  refillSize: 262144,
  fetchTimeoutMs: 30_000,
} as const;

const MAX_REFILL = 4 << 20; // CACHE_MAX_REQUEST

/**
 * Applies the defaults and checks the values.
 *
 * @throws {InvalidArgumentError} naming the bad key and value
 * @example
 * ```ts
 * import { resolveBlobCacheOptions } from "./options.ts";
 * const o = resolveBlobCacheOptions({ cacheDir: "/tmp/c", cacheSizeGB: 1 });
 * if (o.capBytes !== 2 ** 30 || o.refillSize !== 262144) throw new Error();
 * ```
 */
export function resolveBlobCacheOptions(options: BlobCacheOptions): ResolvedBlobCacheOptions {
  const d = BLOB_CACHE_DEFAULTS;
  const cacheDir = options.cacheDir ?? d.cacheDir;
  const gb = options.cacheSizeGB ?? d.cacheSizeGB;
  const refillSize = options.refillSize ?? d.refillSize;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? d.fetchTimeoutMs;
  if (cacheDir === "") throw new InvalidArgumentError("cache: cacheDir is empty");
  if (!(gb > 0) || !Number.isFinite(gb)) {
    throw new InvalidArgumentError(`cache: cacheSizeGB ${gb} is not a positive number`);
  }
  const pow2 = Number.isInteger(refillSize) && refillSize > 0 &&
    (refillSize & (refillSize - 1)) === 0;
  if (!pow2 || refillSize % 4096 !== 0 || refillSize > MAX_REFILL) {
    throw new InvalidArgumentError(
      `cache: refillSize ${refillSize} is not a power of two from 4096 to ${MAX_REFILL}`,
    );
  }
  if (!Number.isInteger(fetchTimeoutMs) || fetchTimeoutMs < 0 || fetchTimeoutMs > 0xffffffff) {
    throw new InvalidArgumentError(`cache: fetchTimeoutMs ${fetchTimeoutMs} is out of range`);
  }
  const capBytes = Math.max(Math.floor(gb * 2 ** 30), 1);
  return { cacheDir, capBytes, refillSize, fetchTimeoutMs };
}
