import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.ts";
import { chainIds } from "../../src/oci/mod.ts";
import { pullPlan } from "../../src/rpull/mod.ts";
import {
  type Descriptor,
  digestOf,
  type ImageManifest,
  parseReference,
  type ResolvedImage,
} from "../../src/registry/mod.ts";
import { vector } from "../_helpers.ts";

const BLOBS = "upstream/hello-world-registry/blobs/sha256";
const MANIFEST = "42caa56a19e082b872d43f645bb392e25c9e78bce429755bd709fac598265f88";

/** The upstream-converted hello-world image: its manifest and config, as the registry serves them. */
async function helloImage(): Promise<{ resolved: ResolvedImage; config: Uint8Array<ArrayBuffer> }> {
  const bytes = await Deno.readFile(vector(`${BLOBS}/${MANIFEST}`));
  const manifest = JSON.parse(new TextDecoder().decode(bytes)) as ImageManifest;
  const config = await Deno.readFile(vector(`${BLOBS}/${manifest.config.digest.slice(7)}`));
  const descriptor: Descriptor = {
    mediaType: manifest.mediaType!,
    digest: `sha256:${MANIFEST}`,
    size: bytes.length,
  };
  return { resolved: { descriptor, manifest, bytes }, config };
}

const reference = parseReference("127.0.0.1:5000/hello-world:amd64-converted");

Deno.test("pullPlan() makes each layer a pull Prepare named by its chainID with the overlaybd labels", async () => {
  const { resolved, config } = await helloImage();
  const plan = await pullPlan({ reference, resolved, config }, "overlaybd");
  const diffIds = JSON.parse(new TextDecoder().decode(config)).rootfs.diff_ids;
  const [chain] = await chainIds(diffIds);

  assert.equal(plan.name, "127.0.0.1:5000/hello-world:amd64-converted");
  assert.deepEqual(plan.target, resolved.descriptor);
  assert.equal(plan.layers.length, 1);
  assert.deepEqual(plan.layers[0], {
    chainId: chain,
    parent: "",
    labels: {
      "containerd.io/snapshot/overlaybd/blob-digest":
        "sha256:022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d",
      "containerd.io/snapshot/overlaybd/blob-size": "642560",
      "containerd.io/snapshot/overlaybd/version": "0.1.0",
      "containerd.io/snapshot.ref": chain,
      "containerd.io/snapshot/image-ref": "127.0.0.1:5000/hello-world:amd64-converted",
    },
  });
});

Deno.test("pullPlan() labels the content so containerd's garbage collector keeps config, manifest and snapshots", async () => {
  const { resolved, config } = await helloImage();
  const plan = await pullPlan({ reference, resolved, config }, "obd");
  const [configItem, manifestItem] = plan.contents;
  assert.equal(configItem.descriptor.digest, resolved.manifest.config.digest);
  assert.equal(await digestOf(configItem.bytes), configItem.descriptor.digest);
  assert.equal(configItem.labels["containerd.io/gc.ref.snapshot.obd"], plan.layers[0].chainId);
  assert.equal(manifestItem.descriptor.digest, `sha256:${MANIFEST}`);
  assert.equal(
    manifestItem.labels["containerd.io/gc.ref.content.config"],
    resolved.manifest.config.digest,
  );
  assert.equal(
    manifestItem.labels["containerd.io/gc.ref.content.l.0"],
    resolved.manifest.layers[0].digest,
  );
  assert.equal(
    manifestItem.labels["containerd.io/distribution.source.127.0.0.1:5000"],
    "hello-world",
  );
});

Deno.test("pullPlan() refuses a plain OCI image and a config whose diff_ids do not match", async () => {
  const { resolved, config } = await helloImage();
  const plain: ResolvedImage = {
    ...resolved,
    manifest: {
      ...resolved.manifest,
      layers: [{
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: "sha256:1",
        size: 2,
      }],
    },
  };
  await assert.rejects(
    pullPlan({ reference, resolved: plain, config }, "overlaybd"),
    /not an overlaybd image/,
  );
  const twoLayers: ResolvedImage = {
    ...resolved,
    manifest: {
      ...resolved.manifest,
      layers: [...resolved.manifest.layers, ...resolved.manifest.layers],
    },
  };
  await assert.rejects(
    pullPlan({ reference, resolved: twoLayers, config }, "overlaybd"),
    (e: Error) => e instanceof InvalidArgumentError && /one diffID per layer \(2\)/.test(e.message),
  );
});
