import assert from "node:assert/strict";
import { overlaybdLayers } from "../../src/oci/mod.ts";
import type { ImageManifest } from "../../src/registry/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { vector } from "../_helpers.ts";

const blob = (digest: string) => vector(`upstream/hello-world-registry/blobs/sha256/${digest}`);

Deno.test("overlaybdLayers() reads the converted hello-world manifest", async () => {
  const manifest = JSON.parse(
    await Deno.readTextFile(
      blob("42caa56a19e082b872d43f645bb392e25c9e78bce429755bd709fac598265f88"),
    ),
  ) as ImageManifest;
  assert.deepEqual(overlaybdLayers(manifest, "hello"), [{
    digest: "sha256:022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d",
    size: 642560,
    acceleration: false,
  }]);
});

Deno.test("overlaybdLayers() refuses a plain OCI image and says how to convert it", () => {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    config: { mediaType: "x", digest: "sha256:0", size: 1 },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: "sha256:1",
      size: 2,
    }],
  };
  assert.throws(() => overlaybdLayers(manifest, "img"), (e: Error) => {
    assert.ok(e instanceof InvalidArgumentError);
    assert.match(e.message, /not an overlaybd image/);
    assert.match(e.message, /obdconv/);
    return true;
  });
});
