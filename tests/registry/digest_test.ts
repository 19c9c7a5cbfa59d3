import assert from "node:assert/strict";
import { CorruptDataError, UnsupportedError } from "../../src/errors.ts";
import { digestOf, isDigest, verifyDigest } from "../../src/registry/mod.ts";

const ABC = new TextEncoder().encode("abc");
const ABC_SHA256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

Deno.test("digestOf() hashes with sha256 and sha512", async () => {
  assert.equal(await digestOf(ABC), ABC_SHA256);
  assert.match(await digestOf(ABC, "sha512"), /^sha512:ddaf35a1/);
  await assert.rejects(digestOf(ABC, "md5"), UnsupportedError);
});

Deno.test("verifyDigest() rejects other bytes with CorruptDataError", async () => {
  await verifyDigest(ABC, ABC_SHA256, "blob");
  await assert.rejects(
    verifyDigest(new TextEncoder().encode("abd"), ABC_SHA256, "blob x"),
    (err) => err instanceof CorruptDataError && err.message.includes(ABC_SHA256),
  );
});

Deno.test("isDigest() follows the OCI digest grammar", () => {
  assert.ok(isDigest(ABC_SHA256));
  assert.ok(isDigest("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"));
  assert.ok(!isDigest("sha256"));
  assert.ok(!isDigest("sha256:"));
  assert.ok(!isDigest("SHA256:abc"));
});
