import assert from "node:assert/strict";
import { readTar } from "../../src/convert/mod.ts";
import { AlreadyExistsError } from "../../src/errors.ts";
import { labels } from "../../src/oci/mod.ts";
import type { ImageManifest } from "../../src/registry/mod.ts";
import {
  appendAccelerationLayer,
  buildAccelerationLayer,
  encodeTrace,
} from "../../src/trace/mod.ts";
import { sha256, withTempDir } from "../_helpers.ts";

const TRACE = encodeTrace(
  Array.from({ length: 30 }, (_, i) => ({ op: "R", layerIndex: 0, count: 4096, offset: i * 8192 })),
);
const TOP = {
  mediaType: "application/vnd.oci.image.layer.v1.tar",
  digest: "sha256:" + "1".repeat(64),
  size: 1000,
  annotations: { [labels.BLOB_FS_TYPE]: "ext4", [labels.BLOB_DIGEST]: "sha256:" + "1".repeat(64) },
};

Deno.test("buildAccelerationLayer() packs the trace as one tar entry with the §8.6 annotations", async () => {
  const layer = await buildAccelerationLayer(TRACE, TOP);
  assert.equal(layer.blob.byteLength, 512 + 1024 + 1024); // header, 744 bytes padded, footer
  assert.ok(layer.blob.subarray(layer.blob.byteLength - 1024).every((b) => b === 0));
  assert.equal(layer.digest, `sha256:${await sha256(layer.blob)}`);
  assert.deepEqual(layer.descriptor, {
    mediaType: "application/vnd.oci.image.layer.v1.tar",
    digest: layer.digest,
    size: layer.blob.byteLength,
    annotations: {
      [labels.VERSION]: "0.1.0",
      [labels.BLOB_DIGEST]: layer.digest,
      [labels.BLOB_SIZE]: String(layer.blob.byteLength),
      [labels.ACCELERATION_LAYER]: "yes",
      [labels.BLOB_FS_TYPE]: "ext4",
    },
  });
  const entries = [];
  for await (const e of readTar(ReadableStream.from([layer.blob]))) {
    const chunks = [];
    for await (const c of e.body()) chunks.push(c.slice());
    entries.push({ ...e, content: new Uint8Array(await new Blob(chunks).arrayBuffer()) });
  }
  assert.equal(entries.length, 1);
  assert.deepEqual(
    [entries[0].path, entries[0].type, entries[0].mode, entries[0].mtime, entries[0].uid],
    ["trace", "file", 0o444, 0, 0],
  );
  assert.deepEqual(entries[0].content, TRACE);
  // Without a top layer fs type, none is claimed.
  const plain = await buildAccelerationLayer(TRACE);
  assert.equal(plain.descriptor.annotations?.[labels.BLOB_FS_TYPE], undefined);
});

Deno.test("buildAccelerationLayer() output is read by GNU tar", async () => {
  await withTempDir(async (dir) => {
    const layer = await buildAccelerationLayer(TRACE, TOP);
    await Deno.writeFile(`${dir}/layer.tar`, layer.blob);
    const out = await new Deno.Command("tar", {
      args: ["-tvf", `${dir}/layer.tar`, "--numeric-owner"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(
      new TextDecoder().decode(out.stdout),
      /^-r--r--r-- 0\/0 +744 1970-01-01 00:00 trace\n$/,
    );
    const x = await new Deno.Command("tar", { args: ["-xf", `${dir}/layer.tar`, "-C", dir] })
      .output();
    assert.equal(x.code, 0);
    assert.deepEqual(await Deno.readFile(`${dir}/trace`), TRACE);
  });
});

Deno.test("appendAccelerationLayer() adds the layer on top, its diff_id and a first history entry", async () => {
  const layer = await buildAccelerationLayer(TRACE, TOP);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: {
      mediaType: "application/vnd.docker.container.image.v1+json",
      digest: "sha256:" + "2".repeat(64),
      size: 10,
    },
    layers: [TOP],
  };
  const config = {
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [TOP.digest] },
    history: [{ created_by: "convert" }],
  };
  const built = await appendAccelerationLayer(manifest, config, layer, {
    created: "2024-01-01T00:00:00Z",
  });
  const newConfig = JSON.parse(new TextDecoder().decode(built.config));
  const newManifest = JSON.parse(new TextDecoder().decode(built.manifest));
  assert.deepEqual(newConfig.rootfs.diff_ids, [TOP.digest, layer.digest]);
  assert.deepEqual(newConfig.history, [
    { created: "2024-01-01T00:00:00Z", created_by: "Acceleration Layer" },
    { created_by: "convert" },
  ]);
  assert.deepEqual(newManifest.layers, [TOP, layer.descriptor]);
  assert.deepEqual(newManifest.config, built.configDescriptor);
  assert.equal(built.configDescriptor.mediaType, manifest.config.mediaType);
  assert.equal(built.configDescriptor.digest, `sha256:${await sha256(built.config)}`);
  assert.equal(built.manifestDescriptor.mediaType, manifest.mediaType);
  assert.equal(built.manifestDescriptor.size, built.manifest.byteLength);
  // Once is enough.
  await assert.rejects(
    appendAccelerationLayer(newManifest, newConfig, layer),
    AlreadyExistsError,
  );
});
