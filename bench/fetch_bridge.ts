/**
 * Benchmarks of the data plane's fetch bridge and blob cache:
 *
 * 1. One bridge crossing: a native thread fetches 4 KiB that the TypeScript
 *    handler serves from memory; p50/p99 of the native round trip over 10k
 *    sequential requests (after 1k warm-up requests).
 * 2. Cached reads: a fully cached 64 MiB blob read through the cache next to
 *    plain preads of the same cache data file, at several read sizes, in the
 *    same run; sync FFI calls (what a native reader pays, plus ~50 ns) and
 *    nonblocking ones (what a TypeScript reader pays: a worker-thread hop).
 *
 * Run: deno run -A bench/fetch_bridge.ts   (after `make -C native`)
 *
 * @module
 */

import { blobStats, openNativeBlobCache, preadFileAsync } from "../ffi/cache.ts";
import { openFetchBridge } from "../ffi/fetch.ts";
import { type NativeFile, openFile } from "../ffi/file.ts";

const DIGEST = "sha256:" + "ab".repeat(32);
const BLOB_SIZE = 64 << 20;
const blob = new Uint8Array(BLOB_SIZE);
for (let i = 0; i < BLOB_SIZE; i += 4096) blob[i] = i / 4096;

function percentile(sorted: BigUint64Array, p: number): number {
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]) / 1000;
}

async function crossing(): Promise<void> {
  const bridge = openFetchBridge((_b, offset, into) => {
    into.set(blob.subarray(offset % BLOB_SIZE, offset % BLOB_SIZE + into.byteLength));
    return Promise.resolve(into.byteLength);
  }, 4);
  try {
    await bridge.measure(1, 4096, 1000);
    const ns = (await bridge.measure(1, 4096, 10_000)).sort();
    console.log(
      `bridge crossing, 4 KiB from memory, 10k requests: p50 ${
        percentile(ns, 0.5).toFixed(1)
      } µs, ` +
        `p90 ${percentile(ns, 0.9).toFixed(1)} µs, p99 ${percentile(ns, 0.99).toFixed(1)} µs`,
    );
  } finally {
    await bridge.close();
  }
}

function mbps(bytes: number, ms: number): string {
  return (bytes / 1e6 / (ms / 1e3)).toFixed(0).padStart(6);
}

async function timeReads(
  read: (buf: Uint8Array<ArrayBuffer>, off: number) => number | Promise<number>,
  size: number,
  total: number,
): Promise<number> {
  const buf = new Uint8Array(size);
  const t0 = performance.now();
  for (let done = 0; done < total;) {
    for (let off = 0; off + size <= BLOB_SIZE && done < total; off += size) {
      await read(buf, off);
      done += size;
    }
  }
  return performance.now() - t0;
}

async function cachedReads(dir: string): Promise<void> {
  const bridge = openFetchBridge((_b, offset, into) => {
    into.set(blob.subarray(offset, offset + into.byteLength));
    return Promise.resolve(into.byteLength);
  }, 8);
  const cache = openNativeBlobCache(dir, 1 << 30, 0);
  let file: NativeFile | undefined;
  let plain: NativeFile | undefined;
  try {
    file = cache.openBlob(DIGEST, BLOB_SIZE, bridge, 1);
    const fill = new Uint8Array(4 << 20);
    for (let off = 0; off < BLOB_SIZE; off += fill.byteLength) {
      await preadFileAsync(file, fill, off);
    }
    const s = blobStats(file);
    console.log(
      `filled: ${s.fetchRequests} fetches, ${(s.bytesFetched / 2 ** 20).toFixed(0)} MiB cached`,
    );
    plain = openFile(`${dir}/${DIGEST.slice(7)}.data`);
    const f = file, p = plain;
    console.log(
      "read size | plain sync MB/s | cache sync MB/s | ratio | plain async MB/s | cache async MB/s",
    );
    for (const size of [4096, 65536, 1 << 20]) {
      const total = size === 4096 ? 256 << 20 : 1 << 30;
      const asyncTotal = size === 4096 ? 16 << 20 : total / 4;
      // Sync reads of the cache file are safe here only because every page is
      // present: nothing fetches. Best of two rounds, alternating.
      const best = async (fn: () => Promise<number>) => Math.min(await fn(), await fn());
      const tp = await best(() => timeReads((b, o) => p.pread(b, o), size, total));
      const ts = await best(() => timeReads((b, o) => f.pread(b, o), size, total));
      const tpa = await best(() => timeReads((b, o) => preadFileAsync(p, b, o), size, asyncTotal));
      const tsa = await best(() => timeReads((b, o) => preadFileAsync(f, b, o), size, asyncTotal));
      console.log(
        `${String(size).padStart(9)} | ${mbps(total, tp)}          | ${
          mbps(total, ts)
        }          | ` +
          `${(tp / ts).toFixed(2)}  | ${mbps(asyncTotal, tpa)}           | ${
            mbps(asyncTotal, tsa)
          }`,
      );
    }
    if (blobStats(file).fetchRequests !== s.fetchRequests) throw new Error("cached reads fetched");
  } finally {
    plain?.close();
    file?.close();
    cache.close();
    await bridge.close();
  }
}

const dir = await Deno.makeTempDir({ prefix: "obd-bench-cache-" });
try {
  await crossing();
  await cachedReads(dir);
} finally {
  await Deno.remove(dir, { recursive: true });
}
