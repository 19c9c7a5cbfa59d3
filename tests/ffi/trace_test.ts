import assert from "node:assert/strict";
import { Image } from "../../ffi/image.ts";
import {
  decodeTrace,
  encodeTrace,
  hasTraceMagic,
  openTracedLayer,
  type TraceRecord,
  TraceRecorder,
} from "../../ffi/trace.ts";
import { CorruptDataError } from "../../src/errors.ts";
import { vector } from "../_helpers.ts";

/** Two reads, with the checksum worked out by hand from spec §8.3 (as in native/tests/test_trace.c). */
const GOLDEN = new Uint8Array([
  0x20,
  0x18,
  0xef,
  0xc2,
  0,
  0,
  0,
  0,
  0x30,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0x31,
  0xfe,
  0x31,
  0xa2,
  0,
  0,
  0,
  0,
  0x52,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0x00,
  0x10,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0x52,
  0,
  0,
  0,
  1,
  0,
  0,
  0,
  0,
  0,
  1,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0x10,
  0,
  0,
  0,
  0,
  0,
]);
const RECORDS: TraceRecord[] = [
  { op: "R", layerIndex: 0, count: 4096, offset: 0 },
  { op: "R", layerIndex: 1, count: 65536, offset: 1 << 20 },
];

Deno.test("encodeTrace() writes the bytes of spec §8.3", () => {
  assert.deepEqual(encodeTrace(RECORDS), GOLDEN);
  assert.equal(encodeTrace([]).byteLength, 24);
});

Deno.test("decodeTrace() returns the records of a valid trace", () => {
  assert.deepEqual(decodeTrace(GOLDEN), RECORDS);
  assert.deepEqual(decodeTrace(encodeTrace([])), []);
  assert.ok(hasTraceMagic(GOLDEN));
  assert.ok(!hasTraceMagic(new TextEncoder().encode("/usr/bin/python3\n/etc/hosts\n")));
});

Deno.test("decodeTrace() throws CorruptDataError for a damaged or truncated trace", () => {
  const bad = GOLDEN.slice();
  bad[40] ^= 1;
  assert.throws(() => decodeTrace(bad), (e: Error) => {
    assert.ok(e instanceof CorruptDataError);
    assert.match(e.message, /checksum/);
    return true;
  });
  assert.throws(() => decodeTrace(GOLDEN.slice(0, 60)), CorruptDataError);
});

Deno.test("TraceRecorder records the LSMT reads of a layer, its open first", () => {
  const recorder = TraceRecorder.create();
  const image = Image.open([openTracedLayer(vector("overlaybd.commit"), recorder, 2)]);
  const atOpen = recorder.count;
  const buf = new Uint8Array(1 << 20);
  image.pread(buf, 8 << 20);
  image.close();
  recorder.stop(); // the image is gone; the recorder lives on
  const records = decodeTrace(recorder.encode());
  recorder.close();
  recorder.close(); // twice is fine
  assert.ok(atOpen >= 2, `${atOpen} records at open`);
  assert.ok(records.length > atOpen);
  assert.deepEqual(records[0], { op: "R", layerIndex: 2, count: records[0].count, offset: 0 });
  assert.ok(records.every((r) => r.op === "R" && r.layerIndex === 2));
  const read = records.slice(atOpen).reduce((n, r) => n + r.count, 0);
  assert.ok(read > 0 && read <= 1 << 20, `${read} bytes recorded for a 1 MiB read`);
});
