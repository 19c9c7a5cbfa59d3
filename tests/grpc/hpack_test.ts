import assert from "node:assert/strict";
import { createHeaderDecoder, createHeaderEncoder } from "../../src/grpc/hpack.ts";

Deno.test("createHeaderEncoder() output decodes to the same fields, shrinking as the table fills", () => {
  const enc = createHeaderEncoder();
  const dec = createHeaderDecoder();
  const fields: [string, string][] = [[":status", "200"], ["content-type", "application/grpc"], [
    "x-id",
    "abc",
  ]];
  const first = enc.encode(fields);
  const second = enc.encode(fields);
  assert.deepEqual(dec.decode(first), fields);
  assert.deepEqual(dec.decode(second), fields);
  assert.ok(second.length < first.length);
});

Deno.test("createHeaderDecoder() decodes RFC 7541 C.4.1 (Huffman request)", () => {
  const hex = "828684418cf1e3c2e5f23a6ba0ab90f4ff";
  const block = new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  assert.deepEqual(createHeaderDecoder().decode(block), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ]);
});

Deno.test("createHeaderDecoder() throws on a malformed block", () => {
  assert.throws(() => createHeaderDecoder().decode(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])));
});
