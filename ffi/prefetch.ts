/**
 * `native/src/prefetch.h`: trace replay (spec §8.4) and list prefetch
 * (§8.5) on native background threads that read through the blob cache,
 * behind demand reads.
 *
 * A {@linkcode Prefetcher} borrows its image: close it (and await the
 * close) before closing the image. Closing waits for reads in flight, which
 * may wait for fetches that only the JS thread can serve, so it runs on a
 * worker thread and returns a promise.
 *
 * @module
 */

import { check } from "./errors.ts";
import { Handle } from "./handle.ts";
import type { Image } from "./image.ts";
import { lazyLibrary, outPointer, readPointer } from "./library.ts";
import { cStringAt, u64At, view } from "./struct.ts";

const lib = lazyLibrary({
  /** Copies the trace; the image is borrowed until close. */
  obd_prefetch_start_trace: {
    parameters: ["pointer", "buffer", "usize", "u32", "buffer"],
    result: "i32",
  },
  /** Copies the paths; the image is borrowed until close. */
  obd_prefetch_start_list: {
    parameters: ["pointer", "buffer", "usize", "u32", "buffer"],
    result: "i32",
  },
  /** Reads the image (may wait for fetches): on a worker thread. */
  obd_prefetch_call_list_resolve: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "buffer", "buffer", "usize"],
    result: "i64",
    nonblocking: true,
  },
  obd_prefetch_stop: { parameters: ["pointer"], result: "void" },
  obd_prefetch_get_stats: { parameters: ["pointer", "buffer"], result: "void" },
  obd_prefetch_wait: { parameters: ["pointer", "u32"], result: "i32", nonblocking: true },
  /** Frees the prefetcher after its threads have ended. */
  obd_prefetch_close: { parameters: ["pointer"], result: "void", nonblocking: true },
});

const STATS_SIZE = 56; // sizeof(obd_prefetch_stats), pinned in ffi_layout.c
const RECORD_SIZE = 24; // sizeof(obd_trace_record)
const DETAIL_MAX = 512;

function pathList(paths: readonly string[]): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(paths.map((p) => p + "\0").join(""));
}

/** Counters of a prefetcher (`struct obd_prefetch_stats`). */
export interface PrefetchStats {
  /** Records to replay (list mode: known once the paths are resolved). */
  records: number;
  /** Records read successfully. */
  replayed: number;
  /** Bytes those reads returned. */
  bytes: number;
  /** Records that failed or named no layer; list paths that did not resolve. */
  failures: number;
  /** Records that are not reads. */
  skipped: number;
  /** Milliseconds workers held back because demand reads were waiting. */
  yieldMs: number;
  /** Every worker has finished or stopped. */
  done: boolean;
  /** Workers started. */
  workers: number;
}

/** A running native prefetcher. */
export class Prefetcher {
  readonly #handle: Handle;
  readonly #waits = new Set<Promise<number>>();
  #closed?: Promise<void>;

  /** Use {@linkcode startTracePrefetch} or {@linkcode startListPrefetch}. */
  constructor(ptr: Deno.PointerObject) {
    this.#handle = new Handle(ptr, "prefetcher");
  }

  /** A snapshot of the counters. */
  stats(): PrefetchStats {
    const out = new Uint8Array(STATS_SIZE);
    lib().obd_prefetch_get_stats(this.#handle.ptr, out);
    const v = view(out);
    return {
      records: u64At(v, 0),
      replayed: u64At(v, 8),
      bytes: u64At(v, 16),
      failures: u64At(v, 24),
      skipped: u64At(v, 32),
      yieldMs: u64At(v, 40) / 1e6,
      done: v.getUint32(48, true) === 1,
      workers: v.getUint32(52, true),
    };
  }

  /** Asks the workers to stop after their current slice; returns at once. */
  stop(): void {
    lib().obd_prefetch_stop(this.#handle.ptr);
  }

  /**
   * Resolves true once the replay is done, false after `timeoutMs` (0: no
   * limit). After close it resolves true at once.
   */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.#closed) return true;
    const w = lib().obd_prefetch_wait(this.#handle.ptr, timeoutMs);
    this.#waits.add(w);
    try {
      return (await w) === 1;
    } finally {
      this.#waits.delete(w);
    }
  }

  /**
   * Stops, waits for the workers and frees the native object; waits still
   * running end first (the native object must outlive them). Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const p = this.#handle.ptr;
      lib().obd_prefetch_stop(p);
      await Promise.all(this.#waits);
      this.#handle.release();
      await lib().obd_prefetch_close(p);
    })();
    return this.#closed;
  }
}

/**
 * Starts replaying the trace file `trace` on `image`'s lower layers with
 * `concurrency` workers (0: 16).
 *
 * @throws {CorruptDataError} when the trace fails a check of spec §8.3 (nothing starts)
 */
export function startTracePrefetch(
  image: Image,
  trace: Uint8Array<ArrayBuffer>,
  concurrency: number,
): Prefetcher {
  const out = outPointer();
  check(
    lib().obd_prefetch_start_trace(image.ptr, trace, BigInt(trace.byteLength), concurrency, out),
    "start trace replay",
  );
  return new Prefetcher(readPointer(out));
}

/**
 * Starts prefetching the data of `paths` (absolute; one ending in `/`
 * stands for everything below that directory) on `image`'s merged view with
 * `concurrency` workers. Paths are resolved in the background: ones that do
 * not resolve show up as failures.
 *
 * @throws {InvalidArgumentError} when the paths take more than 64 KiB
 */
export function startListPrefetch(
  image: Image,
  paths: readonly string[],
  concurrency: number,
): Prefetcher {
  const bytes = pathList(paths);
  const out = outPointer();
  check(
    lib().obd_prefetch_start_list(image.ptr, bytes, BigInt(bytes.byteLength), concurrency, out),
    "start list prefetch",
  );
  return new Prefetcher(readPointer(out));
}

/** A device range that list prefetch reads: `count` bytes at byte `offset` of the merged image. */
export interface ListRange {
  offset: number;
  count: number;
}

/**
 * The ranges list prefetch would read for `paths` (spec §8.5): the data of
 * each file in `image`'s ext4, in slices of at most 1 MiB, limited to the
 * file size rounded up to 512. Reads the image on a worker thread.
 *
 * @returns the ranges, and how many paths did not resolve
 * @throws {CorruptDataError} when the image holds no ext4
 */
export async function resolvePrefetchList(
  image: Image,
  paths: readonly string[],
): Promise<{ ranges: ListRange[]; unresolved: number }> {
  const bytes = pathList(paths);
  let cap = 256;
  for (;;) {
    const out = new Uint8Array(cap * RECORD_SIZE);
    const unresolved = new BigUint64Array(1);
    const detail = new Uint8Array(DETAIL_MAX);
    const n = Number(check(
      await lib().obd_prefetch_call_list_resolve(
        image.ptr,
        bytes,
        BigInt(bytes.byteLength),
        out,
        BigInt(cap),
        new Uint8Array(unresolved.buffer),
        detail,
        BigInt(DETAIL_MAX),
      ),
      "resolve prefetch list",
      cStringAt(detail, 0, DETAIL_MAX),
    ));
    if (n > cap) {
      cap = n;
      continue;
    }
    const v = view(out);
    const ranges = Array.from({ length: n }, (_, i) => ({
      offset: Number(v.getBigInt64(i * RECORD_SIZE + 16, true)),
      count: u64At(v, i * RECORD_SIZE + 8),
    }));
    return { ranges, unresolved: Number(unresolved[0]) };
  }
}
