import assert from "node:assert/strict";
import { chainIds } from "../../src/oci/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { sha256 } from "../_helpers.ts";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

Deno.test("chainIds() hashes the previous chainID and the diffID joined by a space", async () => {
  const ids = await chainIds([A, B]);
  assert.equal(ids[0], A);
  assert.equal(ids[1], `sha256:${await sha256(new TextEncoder().encode(`${A} ${B}`))}`);
});

Deno.test("chainIds() throws InvalidArgumentError when a diffID is not a digest", async () => {
  await assert.rejects(chainIds([A, "nope"]), InvalidArgumentError);
});
