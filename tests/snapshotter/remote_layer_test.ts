import assert from "node:assert/strict";
import { InvalidArgumentError, UnsupportedError } from "../../src/errors.ts";
import {
  remoteLayerConfig,
  remoteLayerOf,
  repoBlobUrlFor,
} from "../../src/snapshotter/remote_layer.ts";

const digest = "sha256:" + "a".repeat(64);
const labels = {
  "containerd.io/snapshot.ref": "sha256:" + "c".repeat(64),
  "containerd.io/snapshot/overlaybd/blob-digest": digest,
  "containerd.io/snapshot/overlaybd/blob-size": "1234",
  "containerd.io/snapshot/image-ref": "registry.example.com/team/app:1",
};

Deno.test("remoteLayerOf() recognises a lazy overlaybd pull by its four labels (spec §10.3)", () => {
  assert.deepEqual(remoteLayerOf(labels), {
    target: labels["containerd.io/snapshot.ref"],
    digest,
    size: 1234,
    imageRef: "registry.example.com/team/app:1",
  });
  const { "containerd.io/snapshot/image-ref": _, ...noRef } = labels;
  assert.equal(remoteLayerOf(noRef), undefined, "no image ref: containerd downloads");
  assert.equal(
    remoteLayerOf({ ...noRef, "containerd.io/snapshot/cri.image-ref": "x/y:1" })?.imageRef,
    "x/y:1",
  );
  const { "containerd.io/snapshot.ref": __, ...noTarget } = labels;
  assert.equal(remoteLayerOf(noTarget), undefined, "not a pull");
  assert.equal(
    remoteLayerOf({
      ...labels,
      "containerd.io/snapshot/overlaybd/download-remote-blob": "download",
    }),
    undefined,
  );
  assert.equal(
    remoteLayerOf({ ...labels, "containerd.io/snapshot/overlaybd/acceleration-layer": "yes" }),
    undefined,
    "an acceleration layer is unpacked, not read lazily (spec §8.6)",
  );
});

Deno.test("remoteLayerOf() rejects malformed blob labels and TurboOCI layers", () => {
  assert.throws(
    () => remoteLayerOf({ ...labels, "containerd.io/snapshot/overlaybd/blob-size": "-1" }),
    InvalidArgumentError,
  );
  assert.throws(
    () => remoteLayerOf({ ...labels, "containerd.io/snapshot/overlaybd/blob-digest": "md5:x" }),
    InvalidArgumentError,
  );
  assert.throws(
    () =>
      remoteLayerOf({
        ...labels,
        "containerd.io/snapshot/overlaybd/turbo-oci/target-digest": digest,
      }),
    UnsupportedError,
  );
});

Deno.test("repoBlobUrlFor() builds https URLs, http for insecure mirrors, docker.io's endpoint", () => {
  assert.equal(
    repoBlobUrlFor("registry.example.com/team/app:1", []),
    "https://registry.example.com/v2/team/app/blobs",
  );
  assert.equal(
    repoBlobUrlFor("127.0.0.1:5000/app@" + digest, [{ host: "127.0.0.1:5000", insecure: true }]),
    "http://127.0.0.1:5000/v2/app/blobs",
  );
  assert.equal(
    repoBlobUrlFor("127.0.0.1:5000/app", [{ host: "127.0.0.1:5000", insecure: false }]),
    "https://127.0.0.1:5000/v2/app/blobs",
  );
  assert.equal(
    repoBlobUrlFor("overlaybd/redis:6", []),
    "https://registry-1.docker.io/v2/overlaybd/redis/blobs",
  );
  assert.equal(
    repoBlobUrlFor("redis", [{ host: "registry-1.docker.io", insecure: true }]),
    "http://registry-1.docker.io/v2/library/redis/blobs",
  );
  assert.throws(() => repoBlobUrlFor("UPPER/case", []), InvalidArgumentError);
});

Deno.test("remoteLayerConfig() puts the layer on top of its parent's lowers", () => {
  const layer = remoteLayerOf(labels)!;
  const parent = {
    repoBlobUrl: "https://old/v2/x/blobs",
    lowers: [{ digest: "sha256:" + "b".repeat(64), size: 9, dir: "/s/1/fs" }],
    upper: {},
    resultFile: "/s/1/block/init-debug.log",
  };
  assert.deepEqual(remoteLayerConfig(parent, layer, "https://new/v2/y/blobs", "/s/2/fs", "/r"), {
    repoBlobUrl: "https://new/v2/y/blobs",
    lowers: [...parent.lowers, { digest, size: 1234, dir: "/s/2/fs" }],
    upper: {},
    resultFile: "/r",
  });
});
