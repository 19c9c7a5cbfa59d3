/**
 * The data plane's local blob cache: layer blobs that live in a registry,
 * read through a bounded, persistent cache in native code, whose misses cross
 * into TypeScript through a fetch bridge and are served by a caller-provided
 * `fetchRange` (the registry client's ranged reads).
 *
 * Order of things: open a {@linkcode RemoteBlobSource} and a
 * {@linkcode BlobCache}; open layers with `cache.openLayer`, stack them with
 * `Image.open`, read with {@linkcode preadImageAsync}; close the image, then
 * the cache, then `await source.close()`.
 *
 * Reads that may fetch must be asynchronous: only the JS thread serves
 * fetches, so a synchronous read of a missing page would wait forever.
 *
 * @module
 */

export { type BlobCache, openBlobCache, type RemoteBlob } from "./blob_cache.ts";
export {
  BLOB_CACHE_DEFAULTS,
  type BlobCacheOptions,
  resolveBlobCacheOptions,
  type ResolvedBlobCacheOptions,
} from "./options.ts";
export {
  type FetchRange,
  openRemoteBlobSource,
  type RemoteBlobSource,
  type RemoteBlobSourceOptions,
  type SourceStats,
} from "./remote_blob_source.ts";
export { type CacheStats, preadFileAsync, preadImageAsync } from "../../ffi/cache.ts";
