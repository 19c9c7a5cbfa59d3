import assert from "node:assert/strict";
import { crc32c, crc32cSoftware } from "../../ffi/crc32c.ts";
import { randomBytes } from "../_helpers.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

Deno.test("crc32c() matches the spec §0.1 vectors", () => {
  assert.equal(crc32c(0, ascii("123456789")), 0x58e3fa20);
  assert.equal((~crc32c(0xffffffff, ascii("123456789"))) >>> 0, 0xe3069283);
  assert.equal(crc32c(100007, ascii("123456789")), 0x3c9bd4e0);
  assert.equal(crc32c(0, new Uint8Array(4096)), 0);
});

Deno.test("crc32c() hardware and software paths agree on every length", () => {
  const data = randomBytes(4096 + 7, 9);
  for (let n = 0; n < 200; n++) {
    const part = data.subarray(n % 8, n % 8 + n * 17);
    assert.equal(crc32c(7, part), crc32cSoftware(7, part), `length ${part.length}`);
  }
});
