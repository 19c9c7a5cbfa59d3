import assert from "node:assert/strict";
import { encodeMessage, MessageReader } from "../../src/grpc/mod.ts";

Deno.test("MessageReader.next() reassembles messages from arbitrary chunks", () => {
  const wire = new Uint8Array([
    ...encodeMessage(new Uint8Array([1, 2, 3])),
    ...encodeMessage(new Uint8Array(0)),
  ]);
  const r = new MessageReader(100);
  for (const b of wire.subarray(0, 6)) r.push(new Uint8Array([b]));
  assert.equal(r.next(), null);
  r.push(wire.subarray(6));
  assert.deepEqual(r.next(), { compressed: false, data: new Uint8Array([1, 2, 3]) });
  assert.deepEqual(r.next(), { compressed: false, data: new Uint8Array(0) });
  assert.equal(r.next(), null);
  assert.equal(r.buffered, 0);
});

Deno.test("MessageReader.next() reports a message over the limit from its prefix alone", () => {
  const r = new MessageReader(10);
  r.push(encodeMessage(new Uint8Array(11)).subarray(0, 5));
  assert.equal(r.next(), "too-large");
});

Deno.test("MessageReader.next() reports the compressed flag", () => {
  const wire = encodeMessage(new Uint8Array([9]));
  wire[0] = 1;
  const r = new MessageReader(10);
  r.push(wire);
  assert.deepEqual(r.next(), { compressed: true, data: new Uint8Array([9]) });
});
