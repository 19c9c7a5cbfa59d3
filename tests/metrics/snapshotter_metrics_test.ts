import assert from "node:assert/strict";
import { createSnapshotterMetrics } from "../../src/metrics/mod.ts";
import { sample } from "./_scrape.ts";

Deno.test("createSnapshotterMetrics() starts alive with upstream's series names", async () => {
  const m = createSnapshotterMetrics();
  m.observeCall("Prepare", 0.002, true);
  const text = await m.render();
  assert.equal(m.alive, true);
  assert.equal(sample(text, "is_alive"), 1);
  assert.equal(sample(text, 'grpc_error_count{function="Prepare"}'), 1);
  assert.equal(sample(text, 'grpc_latency_seconds_count{function="Prepare"}'), 1);
  assert.equal(sample(text, 'grpc_latency_seconds_sum{function="Prepare"}'), 0.002);
  assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
});

Deno.test("createSnapshotterMetrics() latency buckets are 0.0001 × 2^k, 20 of them", async () => {
  const m = createSnapshotterMetrics();
  m.observeCall("Stat", 0.00015, false);
  const text = await m.render();
  const les = [...text.matchAll(/grpc_latency_seconds_bucket\{le="([^"]+)",function="Stat"\}/g)]
    .map((x) => x[1]);
  assert.equal(les.length, 21); // 20 buckets and +Inf
  assert.equal(les[20], "+Inf");
  for (let k = 0; k < 20; k++) assert.ok(Math.abs(Number(les[k]) - 0.0001 * 2 ** k) < 1e-9);
  assert.equal(sample(text, 'grpc_latency_seconds_bucket{le="0.0001",function="Stat"}'), 0);
  assert.equal(sample(text, 'grpc_latency_seconds_bucket{le="0.0002",function="Stat"}'), 1);
  assert.equal(sample(text, 'grpc_error_count{function="Stat"}'), undefined);
});

Deno.test("createSnapshotterMetrics() reads its sources at each scrape", async () => {
  let bytes = 100;
  const cache = { hits: 7, misses: 3 };
  const m = createSnapshotterMetrics({ registryBytesFetched: () => bytes, blobCache: () => cache });
  let text = await m.render();
  assert.equal(sample(text, "overlaybd_registry_bytes_fetched_total"), 100);
  assert.equal(sample(text, "overlaybd_blob_cache_hits_total"), 7);
  assert.equal(sample(text, "overlaybd_blob_cache_misses_total"), 3);
  bytes = 4196;
  cache.hits = 70;
  text = await m.render();
  assert.equal(sample(text, "overlaybd_registry_bytes_fetched_total"), 4196);
  assert.equal(sample(text, "overlaybd_blob_cache_hits_total"), 70);
});

Deno.test("createSnapshotterMetrics() keeps counters monotonic when a source goes down", async () => {
  let bytes = 1000;
  const m = createSnapshotterMetrics({ registryBytesFetched: () => bytes });
  await m.render();
  bytes = 200; // e.g. the mount that fetched most of it was removed
  assert.equal(sample(await m.render(), "overlaybd_registry_bytes_fetched_total"), 1200);
});

Deno.test("createSnapshotterMetrics() scrapes the other series when a source throws", async () => {
  let fail = false;
  const m = createSnapshotterMetrics({
    registryBytesFetched: () => {
      if (fail) throw new Error("source closed");
      return 42;
    },
  });
  await m.render();
  fail = true;
  const text = await m.render();
  assert.equal(sample(text, "overlaybd_registry_bytes_fetched_total"), 42);
  assert.equal(sample(text, "is_alive"), 1);
});

Deno.test("createSnapshotterMetrics() omits the sampled series without a source", async () => {
  const text = await createSnapshotterMetrics().render();
  assert.doesNotMatch(text, /overlaybd_registry_bytes_fetched_total/);
  assert.doesNotMatch(text, /overlaybd_blob_cache_hits_total/);
});

Deno.test("createSnapshotterMetrics() records device reads, prefetch hits and liveness", async () => {
  const m = createSnapshotterMetrics();
  m.observeDeviceRead(0.00002);
  m.observeDeviceRead(0.5);
  m.countPrefetchHits();
  m.countPrefetchHits(4);
  m.setAlive(false);
  const text = await m.render();
  assert.equal(sample(text, "overlaybd_device_read_latency_seconds_count"), 2);
  assert.equal(sample(text, 'overlaybd_device_read_latency_seconds_bucket{le="0.00001"}'), 0);
  assert.equal(sample(text, 'overlaybd_device_read_latency_seconds_bucket{le="0.00002"}'), 1);
  assert.equal(sample(text, "overlaybd_prefetch_hits_total"), 5);
  assert.equal(sample(text, "is_alive"), 0);
  assert.equal(m.alive, false);
});

Deno.test("createSnapshotterMetrics() adds the blob cache's prefetch hits to those counted", async () => {
  const cache = { hits: 1, misses: 1, prefetchHits: 10 };
  const m = createSnapshotterMetrics({ blobCache: () => cache });
  m.countPrefetchHits(2);
  assert.equal(sample(await m.render(), "overlaybd_prefetch_hits_total"), 12);
  cache.prefetchHits = 15;
  assert.equal(sample(await m.render(), "overlaybd_prefetch_hits_total"), 17);
});

Deno.test("createSnapshotterMetrics() keeps each daemon's series apart", async () => {
  const a = createSnapshotterMetrics();
  const b = createSnapshotterMetrics();
  a.observeCall("View", 0.001, true);
  assert.equal(sample(await b.render(), 'grpc_error_count{function="View"}'), undefined);
});
