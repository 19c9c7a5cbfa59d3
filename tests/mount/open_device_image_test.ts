/**
 * openDeviceImage() with prefetch, in process and without root: the hello
 * image read lazily from a real registry through the real blob cache, a
 * trace recorded while /hello is read, then replayed (or a list prefetched,
 * or the trace shipped as an acceleration layer) into fresh caches, with
 * the cache's counters showing what demand reads still had to fetch.
 */
import assert from "node:assert/strict";
import type { Image } from "../../ffi/image.ts";
import {
  type BlobCache,
  openBlobCache,
  openRemoteBlobSource,
  preadImageAsync,
  type RemoteBlobSource,
} from "../../src/cache/mod.ts";
import type { DeviceConfig } from "../../src/config/mod.ts";
import { openDeviceImage, type RemoteAccess } from "../../src/mount/open_device_image.ts";
import { RegistryPool } from "../../src/mount/registry_pool.ts";
import { openRepository } from "../../src/registry/mod.ts";
import { decodeTrace, resolvePrefetchList, startDevicePrefetch } from "../../src/trace/mod.ts";
import { sha256, withTempDir } from "../_helpers.ts";
import { HELLO_LAYOUT, pushLayout } from "../registry/_layout.ts";
import { startRegistry } from "../registry/_registry.ts";
import { BLOB_DIGEST, BLOB_SIZE, HELLO_SHA } from "./_mounted.ts";

/** Reads /hello through the image as the kernel would (its data ranges), returns its sha256. */
async function readHello(image: Image): Promise<string> {
  const { ranges } = await resolvePrefetchList(image, ["/hello"]);
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (const r of ranges) {
    const buf = new Uint8Array(r.count);
    await preadImageAsync(image, buf, r.offset);
    parts.push(buf);
  }
  const all = new Uint8Array(await new Blob(parts).arrayBuffer());
  return await sha256(all.subarray(0, 13256));
}

interface Rig {
  tmp: string;
  repoBlobUrl: string;
  /** A fresh cache each call, as on a new host. */
  access(name: string): RemoteAccess & { cache: BlobCache };
}

async function withRig(fn: (rig: Rig) => Promise<void>): Promise<void> {
  await withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    const source: RemoteBlobSource = openRemoteBlobSource();
    const pool = new RegistryPool({ plain: true });
    const caches: BlobCache[] = [];
    try {
      const repo = openRepository(`${registry.host}/hello-world`, { plain: true });
      try {
        await pushLayout(repo, HELLO_LAYOUT);
      } finally {
        repo.close();
      }
      await fn({
        tmp,
        repoBlobUrl: `http://${registry.host}/v2/hello-world/blobs`,
        access(name) {
          const cache = openBlobCache({
            cacheDir: `${tmp}/caches/${name}`,
            cacheSizeGB: 1,
            refillSize: 4096, // small pages, so that /hello is not in the pages the open fetched
          });
          caches.push(cache);
          return {
            cache,
            source,
            fetcherFor: (url) => pool.fetcherFor(url),
            sizeOf: (url, digest) => pool.sizeOf(url, digest),
          };
        },
      });
    } finally {
      for (const c of caches) c.close();
      await source.close();
      pool.close();
      await registry.stop();
    }
  });
}

function config(rig: Rig, extra: Partial<DeviceConfig>): DeviceConfig {
  return {
    repoBlobUrl: rig.repoBlobUrl,
    lowers: [{ digest: BLOB_DIGEST, size: BLOB_SIZE }],
    upper: {},
    resultFile: "",
    ...extra,
  };
}

/** Mounts `c` in process, runs its prefetch to the end, then reads /hello; returns the counters. */
async function coldRead(rig: Rig, name: string, c: DeviceConfig) {
  const access = rig.access(name);
  const opened = await openDeviceImage(c, access);
  const lines: string[] = [];
  const prefetch = await startDevicePrefetch(opened.prefetch, opened.image, {
    concurrency: 16,
    log: (l) => lines.push(l),
  });
  try {
    await prefetch.settled();
    const before = access.cache.stats();
    const hello = await readHello(opened.image);
    const after = access.cache.stats();
    return { hello, before, after, status: prefetch.status(), lines, mode: opened.prefetch.kind };
  } finally {
    await prefetch.close();
    opened.image.close();
  }
}

Deno.test("a trace recorded while /hello is read makes the next cold read fetch nothing", async () => {
  await withRig(async (rig) => {
    // Record: the device opens, /hello is read, the device closes.
    const tracePath = `${rig.tmp}/trace`;
    await Deno.writeFile(tracePath, new Uint8Array());
    const access = rig.access("record");
    const opened = await openDeviceImage(config(rig, { recordTracePath: tracePath }), access);
    assert.equal(opened.prefetch.kind, "record");
    const recording = await startDevicePrefetch(opened.prefetch, opened.image, {
      concurrency: 16,
      recorder: opened.recorder,
      log: () => {},
    });
    assert.equal(await readHello(opened.image), HELLO_SHA);
    assert.ok(access.cache.stats().misses > 0);
    await recording.close(); // the device closes: the trace is written
    opened.image.close();
    const records = decodeTrace(await Deno.readFile(tracePath));
    assert.ok(await Deno.stat(`${tracePath}.ok`));
    assert.ok(records.length > 3 && records.every((r) => r.op === "R" && r.layerIndex === 0));
    assert.equal(records[0].offset, 0, "the open's first read, the LSMT header, comes first");

    // Without prefetch a cold read misses; with the trace replayed it misses nothing.
    const cold = await coldRead(rig, "cold", config(rig, {}));
    assert.equal(cold.hello, HELLO_SHA);
    assert.ok(cold.after.misses > cold.before.misses);
    const warm = await coldRead(rig, "replay", config(rig, { recordTracePath: tracePath }));
    assert.equal(warm.mode, "replay");
    assert.equal(warm.hello, HELLO_SHA);
    assert.equal(warm.status?.state, "done");
    assert.equal(warm.status?.replayed, records.length);
    assert.equal(warm.status?.failures, 0);
    assert.equal(warm.after.misses, warm.before.misses, "no demand read missed");
    assert.equal(warm.after.bytesFetched, warm.before.bytesFetched);
    assert.ok(warm.after.prefetchHits > warm.before.prefetchHits);
    assert.ok(warm.before.prefetchBytes > 0);
    console.log(
      `  /hello cold: ${cold.after.misses - cold.before.misses} page misses, ` +
        `${cold.after.bytesFetched - cold.before.bytesFetched} bytes on demand; ` +
        `after replay: 0 misses (${warm.before.prefetchBytes} bytes prefetched, ` +
        `${warm.after.prefetchHits} prefetch hits)`,
    );

    // The same trace as an acceleration layer on top of the stack.
    const accel = `${rig.tmp}/accel`;
    await Deno.mkdir(accel);
    await Deno.copyFile(tracePath, `${accel}/trace`);
    const c = config(rig, { accelerationLayer: true });
    c.lowers.push({ dir: accel });
    const viaLayer = await coldRead(rig, "accel", c);
    assert.equal(viaLayer.mode, "replay");
    assert.equal(viaLayer.hello, HELLO_SHA);
    assert.equal(viaLayer.after.misses, viaLayer.before.misses);
  });
});

Deno.test("list prefetch of /hello makes its cold read fetch nothing", async () => {
  await withRig(async (rig) => {
    await Deno.writeTextFile(`${rig.tmp}/list`, "/hello\n");
    const r = await coldRead(rig, "list", config(rig, { recordTracePath: `${rig.tmp}/list` }));
    assert.equal(r.mode, "list");
    assert.equal(r.hello, HELLO_SHA);
    assert.equal(r.status?.bytes, 13312);
    assert.equal(r.after.misses, r.before.misses);
    assert.ok(r.after.prefetchHits > 0);
  });
});

Deno.test("a corrupt trace is skipped with a log line and the device still reads", async () => {
  await withRig(async (rig) => {
    const bad = new Uint8Array(48);
    new DataView(bad.buffer).setUint32(0, 0xc2ef1820, true); // the magic, then nonsense
    bad[8] = 24;
    bad[30] = 7;
    await Deno.writeFile(`${rig.tmp}/trace`, bad);
    const r = await coldRead(rig, "corrupt", config(rig, { recordTracePath: `${rig.tmp}/trace` }));
    assert.equal(r.mode, "replay");
    assert.equal(r.status, undefined);
    assert.match(r.lines.join("\n"), /trace .*\/trace skipped: trace: checksum/);
    assert.equal(r.hello, HELLO_SHA);
    assert.ok(r.after.misses > r.before.misses);
  });
});
