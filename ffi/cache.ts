/**
 * `native/src/cache.h`: the local blob cache (sparse data file + present
 * bitmap per blob, LRU eviction under a cap) and the asynchronous calls that
 * read remote blobs.
 *
 * Deadlock rule: reading a cached remote blob may wait for a fetch, and only
 * the JS thread can serve fetches (`ffi/fetch.ts`). So every call that may
 * read such a blob — opening its layer, reading it, reading an image stacked
 * on it — is declared `nonblocking: true` here and returns a promise.
 *
 * @module
 */

import { check } from "./errors.ts";
import type { FetchBridge } from "./fetch.ts";
import { NativeFile } from "./file.ts";
import { Handle } from "./handle.ts";
import type { Image } from "./image.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";
import { ReadOnlyLayer } from "./lsmt.ts";
import { cStringAt, u64At, view } from "./struct.ts";

const lib = lazyLibrary({
  /** The cache is freed by cache_close (deferred until its blob files close). */
  cache_open: { parameters: ["buffer", "u64", "u32", "buffer"], result: "i32" },
  cache_set_fetch_timeout: { parameters: ["pointer", "u32"], result: "void" },
  /** Returns an obd_file the caller owns; the bridge must outlive it. */
  cache_open_blob: {
    parameters: ["pointer", "buffer", "u64", "pointer", "u32", "buffer"],
    result: "i32",
  },
  cache_blob_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  cache_get_stats: { parameters: ["pointer", "buffer"], result: "void" },
  cache_close: { parameters: ["pointer"], result: "void" },
  /** Takes ownership of the file, also on failure. */
  cache_call_layer_open: {
    parameters: ["pointer", "buffer", "buffer", "usize"],
    result: "i32",
    nonblocking: true,
  },
  cache_call_file_pread: {
    parameters: ["pointer", "buffer", "usize", "u64", "buffer", "usize"],
    result: "i64",
    nonblocking: true,
  },
  cache_call_image_pread: {
    parameters: ["pointer", "buffer", "usize", "u64", "buffer", "usize"],
    result: "i64",
    nonblocking: true,
  },
});

const DETAIL_MAX = 512; // OBD_DETAIL_MAX

/** Counters of `struct cache_stats`. */
export interface CacheStats {
  /** Bytes received through the fetch bridge. */
  bytesFetched: number;
  /** Fetch requests, failed ones included. */
  fetchRequests: number;
  /** Requests that failed (error, short result, timeout). */
  fetchErrors: number;
  /** Pages reads found present. */
  hits: number;
  /** Pages reads had to fetch. */
  misses: number;
  /** Pages evicted (cache totals include whole blobs). */
  evictions: number;
  /** Bytes of present pages now. */
  cachedBytes: number;
  /** Bytes fetched for trace replay and list prefetch (background reads). */
  prefetchBytes: number;
  /** Pages prefetch brought in that a demand read then used, each counted once. */
  prefetchHits: number;
}

const STATS_SIZE = 72;

function decodeStats(b: Uint8Array<ArrayBuffer>): CacheStats {
  const v = view(b);
  return {
    bytesFetched: u64At(v, 0),
    fetchRequests: u64At(v, 8),
    fetchErrors: u64At(v, 16),
    hits: u64At(v, 24),
    misses: u64At(v, 32),
    evictions: u64At(v, 40),
    cachedBytes: u64At(v, 48),
    prefetchBytes: u64At(v, 56),
    prefetchHits: u64At(v, 64),
  };
}

/** A native `blob_cache`. */
export class NativeBlobCache {
  readonly #handle: Handle;
  readonly dir: string;

  /** Use {@linkcode openNativeBlobCache}. */
  constructor(ptr: Deno.PointerObject, dir: string) {
    this.#handle = new Handle(ptr, `blob cache ${dir}`);
    this.dir = dir;
  }

  /** Bounds each fetch (0: no limit). */
  setFetchTimeout(ms: number): void {
    lib().cache_set_fetch_timeout(this.#handle.ptr, ms);
  }

  /** Totals since open; `cachedBytes` covers every blob in the directory. */
  stats(): CacheStats {
    const out = new Uint8Array(STATS_SIZE);
    lib().cache_get_stats(this.#handle.ptr, out);
    return decodeStats(out);
  }

  /**
   * Opens blob `digest` of `size` bytes as a file whose misses are fetched
   * through `bridge` as blob `blobId`. Only read it with the async calls of
   * this module (or through a layer opened with {@linkcode openLayerAsync}).
   */
  openBlob(digest: string, size: number, bridge: FetchBridge, blobId: number): NativeFile {
    const out = outPointer();
    check(
      lib().cache_open_blob(
        this.#handle.ptr,
        cString(digest),
        BigInt(size),
        bridge.ptr,
        blobId,
        out,
      ),
      `open cached blob ${digest}`,
    );
    return new NativeFile(readPointer(out), digest);
  }

  /** Closes the cache; blob files still open keep it alive until they close. Idempotent. */
  close(): void {
    const p = this.#handle.release();
    if (p !== null) lib().cache_close(p);
  }
}

/**
 * Opens (creating) the cache directory `dir` with capacity `capBytes` and
 * page (refill) size `pageSize` (0: 256 KiB).
 *
 * @throws {InvalidArgumentError} for a bad capacity or page size
 * @throws {UnavailableError} when the directory cannot be used or another cache holds it
 */
export function openNativeBlobCache(
  dir: string,
  capBytes: number,
  pageSize: number,
): NativeBlobCache {
  const out = outPointer();
  check(lib().cache_open(cString(dir), BigInt(capBytes), pageSize, out), `open cache ${dir}`);
  return new NativeBlobCache(readPointer(out), dir);
}

/** Counters of the blob behind a file from {@linkcode NativeBlobCache.openBlob}. */
export function blobStats(file: NativeFile): CacheStats {
  const out = new Uint8Array(STATS_SIZE);
  check(lib().cache_blob_stats(file.ptr, out), `stats of ${file.name}`);
  return decodeStats(out);
}

function detailOf(buf: Uint8Array): string {
  return cStringAt(buf, 0, DETAIL_MAX);
}

/**
 * Opens a layer blob (tar → ZFile → LSMT) on a worker thread; ownership of
 * `raw` passes to the layer, also on failure.
 */
export async function openLayerAsync(raw: NativeFile): Promise<ReadOnlyLayer> {
  const name = raw.name;
  const out = outPointer();
  const detail = new Uint8Array(DETAIL_MAX);
  const rc = await lib().cache_call_layer_open(raw.take(), out, detail, BigInt(DETAIL_MAX));
  check(rc, `open layer ${name}`, detailOf(detail));
  return new ReadOnlyLayer(readPointer(out), name);
}

/** `NativeFile.pread` on a worker thread: returns bytes read (short only at the end). */
export async function preadFileAsync(
  file: NativeFile,
  buf: Uint8Array<ArrayBuffer>,
  offset: number,
): Promise<number> {
  const detail = new Uint8Array(DETAIL_MAX);
  const rc = await lib().cache_call_file_pread(
    file.ptr,
    buf,
    BigInt(buf.byteLength),
    BigInt(offset),
    detail,
    BigInt(DETAIL_MAX),
  );
  return Number(check(rc, `read ${file.name} at ${offset}`, detailOf(detail)));
}

/** `Image.pread` on a worker thread: reads at `offset` (multiple of 512). */
export async function preadImageAsync(
  image: Image,
  buf: Uint8Array<ArrayBuffer>,
  offset: number,
): Promise<number> {
  const detail = new Uint8Array(DETAIL_MAX);
  const rc = await lib().cache_call_image_pread(
    image.ptr,
    buf,
    BigInt(buf.byteLength),
    BigInt(offset),
    detail,
    BigInt(DETAIL_MAX),
  );
  return Number(check(rc, `read image at ${offset}`, detailOf(detail)));
}
