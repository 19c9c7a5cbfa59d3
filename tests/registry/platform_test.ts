import assert from "node:assert/strict";
import { InvalidArgumentError, NotFoundError } from "../../src/errors.ts";
import {
  type ImageIndex,
  parsePlatform,
  platformMatches,
  selectPlatform,
} from "../../src/registry/mod.ts";

const entry = (digest: string, architecture: string, variant?: string) => ({
  mediaType: "m",
  digest,
  size: 1,
  platform: { os: "linux", architecture, ...(variant ? { variant } : {}) },
});

const INDEX: ImageIndex = {
  schemaVersion: 2,
  manifests: [
    entry("a", "amd64"),
    entry("v6", "arm", "v6"),
    entry("v7", "arm", "v7"),
    entry("arm64", "arm64"),
    {
      mediaType: "m",
      digest: "att",
      size: 1,
      platform: { os: "unknown", architecture: "unknown" },
    },
  ],
};

Deno.test("parsePlatform() reads os/arch[/variant]", () => {
  assert.deepEqual(parsePlatform("linux/amd64"), { os: "linux", architecture: "amd64" });
  assert.deepEqual(parsePlatform("Linux/ARM/v7"), {
    os: "linux",
    architecture: "arm",
    variant: "v7",
  });
  for (const bad of ["linux", "linux/", "a/b/c/d", "/amd64"]) {
    assert.throws(() => parsePlatform(bad), InvalidArgumentError, bad);
  }
});

Deno.test("selectPlatform() picks the entry of the platform, default variants included", () => {
  assert.equal(selectPlatform(INDEX, parsePlatform("linux/amd64"), "i").digest, "a");
  assert.equal(selectPlatform(INDEX, parsePlatform("linux/arm"), "i").digest, "v7");
  assert.equal(selectPlatform(INDEX, parsePlatform("linux/arm/v6"), "i").digest, "v6");
  assert.equal(selectPlatform(INDEX, parsePlatform("linux/arm64/v8"), "i").digest, "arm64");
  assert.ok(platformMatches(entry("x", "arm64", "v8").platform, parsePlatform("linux/arm64")));
});

Deno.test("selectPlatform() lists what the index has when the platform is missing", () => {
  assert.throws(
    () => selectPlatform(INDEX, parsePlatform("linux/s390x"), "index x"),
    (err) =>
      err instanceof NotFoundError && /linux\/s390x/.test(err.message) &&
      /linux\/arm\/v7/.test(err.message),
  );
});
