import assert from "node:assert/strict";
import { layerUuid } from "../../src/convert/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";

Deno.test("layerUuid() formats the first 32 hex digits as 8-4-4-4-12", () => {
  const id = `sha256:0123456789abcdef${"f".repeat(48)}`;
  assert.equal(layerUuid(id), "01234567-89ab-cdef-ffff-ffffffffffff");
  assert.throws(() => layerUuid("sha256:xyz"), InvalidArgumentError);
});
