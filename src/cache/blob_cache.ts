import {
  blobStats,
  type CacheStats,
  type NativeBlobCache,
  openLayerAsync,
  openNativeBlobCache,
} from "../../ffi/cache.ts";
import type { NativeFile } from "../../ffi/file.ts";
import type { ReadOnlyLayer } from "../../ffi/lsmt.ts";
import { type BlobCacheOptions, resolveBlobCacheOptions } from "./options.ts";
import type { FetchRange, RemoteBlobSource } from "./remote_blob_source.ts";

/** What {@linkcode BlobCache.openBlob} and {@linkcode BlobCache.openLayer} read. */
export interface RemoteBlob {
  /** Where misses are fetched. */
  source: RemoteBlobSource;
  /** `sha256:<64 hex>`; names the cache files. */
  digest: string;
  /** Blob size in bytes (from the registry's size probe or the manifest). */
  size: number;
  /** How to fetch a range of it. */
  fetchRange: FetchRange;
}

/**
 * The local cache of remote layer blobs (spec §11.2): one sparse file and one
 * present-bitmap per blob under `dir`, a capacity with LRU eviction of pages,
 * reused after a restart.
 */
export interface BlobCache {
  readonly dir: string;
  /**
   * Opens a remote blob as a native file read through the cache. Read it only
   * asynchronously (`preadFileAsync`): a read may wait for a fetch.
   *
   * @throws {InvalidArgumentError} for a malformed digest, or a size that
   *   differs from the same blob already open
   */
  openBlob(blob: RemoteBlob): NativeFile;
  /**
   * Opens a remote layer blob (tar → ZFile → LSMT) through the cache, for
   * stacking into an image read with `preadImageAsync`.
   *
   * @throws {UnavailableError} when a fetch fails
   * @throws {CorruptDataError} when the blob is not a layer or is damaged
   */
  openLayer(blob: RemoteBlob): Promise<ReadOnlyLayer>;
  /** Totals since open; `cachedBytes` counts every blob in the directory. */
  stats(): CacheStats;
  /** Counters of the blob behind a file from {@linkcode openBlob}. */
  blobStats(file: NativeFile): CacheStats;
  /** Closes the cache; blobs still open keep the native cache alive until they close. Idempotent. */
  close(): void;
}

class Cache implements BlobCache {
  readonly #native: NativeBlobCache;

  constructor(native: NativeBlobCache) {
    this.#native = native;
  }

  get dir(): string {
    return this.#native.dir;
  }

  openBlob(blob: RemoteBlob): NativeFile {
    const id = blob.source.add(blob.digest, blob.fetchRange);
    return this.#native.openBlob(blob.digest, blob.size, blob.source.bridge, id);
  }

  openLayer(blob: RemoteBlob): Promise<ReadOnlyLayer> {
    return openLayerAsync(this.openBlob(blob));
  }

  stats(): CacheStats {
    return this.#native.stats();
  }

  blobStats(file: NativeFile): CacheStats {
    return blobStats(file);
  }

  close(): void {
    this.#native.close();
  }
}

/**
 * Opens (creating) the blob cache described by `options` (spec §6
 * `cacheConfig`: `cacheDir`, `cacheSizeGB`, `refillSize`). One cache per
 * directory at a time.
 *
 * @throws {InvalidArgumentError} for bad options
 * @throws {UnavailableError} when the directory cannot be used or is held by another cache
 */
export function openBlobCache(options: BlobCacheOptions = {}): BlobCache {
  const o = resolveBlobCacheOptions(options);
  const native = openNativeBlobCache(o.cacheDir, o.capBytes, o.refillSize);
  native.setFetchTimeout(o.fetchTimeoutMs);
  return new Cache(native);
}
