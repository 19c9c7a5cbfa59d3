import assert from "node:assert/strict";
import { parseLayoutRef } from "../../src/convert/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";

Deno.test("parseLayoutRef() splits oci:DIR[:TAG|@DIGEST] and ignores registry references", () => {
  assert.deepEqual(parseLayoutRef("oci:/tmp/out:obd"), { dir: "/tmp/out", ref: "obd" });
  assert.deepEqual(parseLayoutRef("oci:/tmp/out"), { dir: "/tmp/out" });
  assert.deepEqual(parseLayoutRef("oci:rel/dir"), { dir: "rel/dir" });
  const digest = `sha256:${"c".repeat(64)}`;
  assert.deepEqual(parseLayoutRef(`oci:/x@${digest}`), { dir: "/x", ref: digest });
  assert.equal(parseLayoutRef("127.0.0.1:5000/app:v1"), undefined);
  assert.throws(() => parseLayoutRef("oci:/x:bad tag"), InvalidArgumentError);
});
