import assert from "node:assert/strict";
import { Image } from "../../ffi/image.ts";
import { openLayer } from "../../ffi/layer.ts";
import { resolvePrefetchList, startListPrefetch, startTracePrefetch } from "../../ffi/prefetch.ts";
import { encodeTrace, openTracedLayer, TraceRecorder } from "../../ffi/trace.ts";
import { CorruptDataError, InvalidArgumentError } from "../../src/errors.ts";
import { vector } from "../_helpers.ts";

const HELLO =
  "upstream/hello-world-registry/blobs/sha256/022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d";

function recordedTrace(): Uint8Array<ArrayBuffer> {
  const recorder = TraceRecorder.create();
  const image = Image.open([openTracedLayer(vector("overlaybd.commit"), recorder, 0)]);
  image.pread(new Uint8Array(1 << 20), 8 << 20);
  image.close();
  const trace = recorder.encode();
  recorder.close();
  return trace;
}

Deno.test("startTracePrefetch() replays every record of a trace", async () => {
  const trace = recordedTrace();
  const image = Image.open([openLayer(vector("overlaybd.commit"))]);
  const p = startTracePrefetch(image, trace, 4);
  try {
    assert.equal(await p.wait(10_000), true);
    const s = p.stats();
    assert.ok(s.done);
    assert.equal(s.records, (trace.byteLength - 24) / 24);
    assert.equal(s.replayed, s.records);
    assert.equal(s.failures, 0);
    assert.ok(s.bytes >= 1 << 20);
    assert.ok(s.workers >= 1 && s.workers <= 4);
  } finally {
    await p.close();
    await p.close(); // twice is fine
    image.close();
  }
  assert.equal(await p.wait(0), true); // after close: at once
});

Deno.test("startTracePrefetch() counts records that name no layer as failures", async () => {
  const image = Image.open([openLayer(vector("overlaybd.commit"))]);
  const trace = encodeTrace([
    { op: "R", layerIndex: 0, count: 4096, offset: 0 },
    { op: "R", layerIndex: 1, count: 4096, offset: 0 },
    { op: "W", layerIndex: 0, count: 4096, offset: 0 },
  ]);
  const p = startTracePrefetch(image, trace, 0);
  try {
    await p.wait(0);
    const s = p.stats();
    assert.deepEqual([s.records, s.replayed, s.failures, s.skipped], [3, 1, 1, 1]);
  } finally {
    await p.close();
    image.close();
  }
});

Deno.test("startTracePrefetch() throws CorruptDataError for a damaged trace and starts nothing", () => {
  const image = Image.open([openLayer(vector("overlaybd.commit"))]);
  try {
    const trace = recordedTrace();
    trace[trace.length - 1] ^= 0x80;
    assert.throws(() => startTracePrefetch(image, trace, 4), CorruptDataError);
  } finally {
    image.close();
  }
});

Deno.test("startListPrefetch() reads the data of the listed files, rounded up to 512", async () => {
  const image = Image.open([openLayer(vector(HELLO))]);
  const p = startListPrefetch(image, ["/hello", "/missing", "/lost+found/"], 2);
  try {
    await p.wait(0);
    const s = p.stats();
    assert.equal(s.bytes, 13312); // /hello is 13 256 bytes
    assert.equal(s.replayed, s.records);
    assert.equal(s.failures, 1); // /missing
  } finally {
    await p.close();
    image.close();
  }
});

Deno.test("Prefetcher.close() stops a replay that is still running", async () => {
  const image = Image.open([openLayer(vector("overlaybd.commit"))]);
  // Many large reads of the whole 12 MiB view: long enough to be caught running.
  const records = Array.from({ length: 2000 }, () => ({
    op: "R",
    layerIndex: 0,
    count: 12 << 20,
    offset: 0,
  }));
  const p = startTracePrefetch(image, encodeTrace(records), 1);
  try {
    assert.equal(await p.wait(50), false);
    const t0 = performance.now();
    p.stop();
    assert.equal(await p.wait(0), true);
    const s = p.stats();
    assert.ok(s.done && s.replayed < 2000, `${s.replayed} records replayed`);
    assert.ok(performance.now() - t0 < 1000, "stopped within one slice");
  } finally {
    await p.close();
    image.close();
  }
});

Deno.test("resolvePrefetchList() gives the device ranges of a file's data", async () => {
  const image = Image.open([openLayer(vector(HELLO))]);
  try {
    const { ranges, unresolved } = await resolvePrefetchList(image, ["/hello", "/nope", "/"]);
    assert.equal(unresolved, 1);
    // /hello once by name and once under "/": the same 13 KiB, 4 KiB-aligned.
    assert.equal(ranges.length % 2, 0);
    assert.deepEqual(ranges.slice(0, ranges.length / 2), ranges.slice(ranges.length / 2));
    assert.equal(ranges.slice(0, ranges.length / 2).reduce((n, r) => n + r.count, 0), 13312);
    assert.ok(ranges.every((r) => r.offset % 4096 === 0));
    const head = new Uint8Array(512);
    image.pread(head, ranges[0].offset);
    assert.deepEqual([...head.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]); // an ELF binary
    await assert.rejects(resolvePrefetchList(image, ["/a".repeat(40000)]), InvalidArgumentError);
  } finally {
    image.close();
  }
});

Deno.test("resolvePrefetchList() throws CorruptDataError for an image without ext4", async () => {
  const image = Image.open([openLayer(vector("overlaybd.commit"))]);
  try {
    await assert.rejects(resolvePrefetchList(image, ["/x"]), CorruptDataError);
  } finally {
    image.close();
  }
});
