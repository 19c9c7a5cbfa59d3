import assert from "node:assert/strict";
import { buildOverlaybdImage, overlaybdLayers } from "../../src/oci/mod.ts";
import { digestOf, type ImageManifest } from "../../src/registry/mod.ts";

Deno.test("buildOverlaybdImage() makes a manifest overlaybdLayers() reads back", async () => {
  const layers = [
    { digest: `sha256:${"a".repeat(64)}`, size: 1000 },
    { digest: `sha256:${"b".repeat(64)}`, size: 2000 },
  ];
  const built = await buildOverlaybdImage(layers);
  const manifest = JSON.parse(new TextDecoder().decode(built.manifest)) as ImageManifest;
  assert.deepEqual(
    overlaybdLayers(manifest, "x").map((l) => ({ digest: l.digest, size: l.size })),
    layers,
  );
  assert.equal(manifest.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar");
  assert.equal(
    manifest.layers[0].annotations?.["containerd.io/snapshot/overlaybd/version"],
    "0.1.0",
  );
  const config = JSON.parse(new TextDecoder().decode(built.config));
  assert.deepEqual(config.rootfs.diff_ids, layers.map((l) => l.digest));
  assert.equal(built.manifestDescriptor.digest, await digestOf(built.manifest));
  assert.equal(manifest.config.digest, await digestOf(built.config));
});
