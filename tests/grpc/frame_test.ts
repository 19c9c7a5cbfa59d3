import assert from "node:assert/strict";
import { encodeFrame, Flag, FrameReader, FrameType, unpad } from "../../src/grpc/frame.ts";

Deno.test("FrameReader.next() cuts frames split across reads", () => {
  const a = encodeFrame(FrameType.DATA, Flag.END_STREAM, 3, new Uint8Array([1, 2, 3]));
  const b = encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8));
  const both = new Uint8Array([...a, ...b]);
  const r = new FrameReader(16_384);
  r.push(both.subarray(0, 5));
  assert.equal(r.next(), null);
  r.push(both.subarray(5, 14));
  const f = r.next();
  assert.ok(f && f !== "too-large");
  assert.deepEqual([f.type, f.flags, f.streamId, [...f.payload]], [FrameType.DATA, 1, 3, [
    1,
    2,
    3,
  ]]);
  assert.equal(r.next(), null);
  r.push(both.subarray(14));
  const g = r.next();
  assert.ok(g && g !== "too-large" && g.type === FrameType.PING && g.payload.length === 8);
});

Deno.test("FrameReader.next() reports frames over the limit", () => {
  const r = new FrameReader(16_384);
  r.push(encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(16_385)).subarray(0, 9));
  assert.equal(r.next(), "too-large");
});

Deno.test("FrameReader.push() grows its buffer for large frames", () => {
  const r = new FrameReader(1 << 20);
  const payload = new Uint8Array(200_000).fill(9);
  const bytes = encodeFrame(FrameType.DATA, 0, 1, payload);
  for (let off = 0; off < bytes.length; off += 7000) r.push(bytes.subarray(off, off + 7000));
  const f = r.next();
  assert.ok(f && f !== "too-large");
  assert.deepEqual(f.payload, payload);
});

Deno.test("unpad() strips padding and HEADERS priority, and rejects overlong padding", () => {
  const payload = new Uint8Array([2, 0, 0, 0, 0, 16, 7, 8, 0, 0]);
  const flags = Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS;
  assert.deepEqual([...unpad({ type: FrameType.HEADERS, flags, streamId: 1, payload })!], [7, 8]);
  const bad = new Uint8Array([5, 1, 2]);
  assert.equal(
    unpad({ type: FrameType.DATA, flags: Flag.PADDED, streamId: 1, payload: bad }),
    null,
  );
});
