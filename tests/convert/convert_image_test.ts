import assert from "node:assert/strict";
import {
  convertImage,
  layerUuid,
  layoutBlobPath,
  REF_NAME,
  resolveLayoutImage,
} from "../../src/convert/mod.ts";
import { inspectFile } from "../../src/layer/mod.ts";
import { labels } from "../../src/oci/mod.ts";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_TAR,
  DOCKER_MANIFEST,
  listReferrers,
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
  openRepository,
  OVERLAYBD_NATIVE_ARTIFACT,
  resolveImage,
} from "../../src/registry/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { randomBytes, runCli, sha256, withTempDir } from "../_helpers.ts";
import { HELLO_SHA, isMounted, withHelloRegistry } from "../mount/_mounted.ts";
import { HELLO_LAYOUT, pushLayout } from "../registry/_layout.ts";
import { helloSha } from "./_hello.ts";
import { freePort, startRegistry } from "../registry/_registry.ts";

const isRoot = Deno.uid() === 0;
/** Manifest of the `amd64` image in the hello-world layout. */
const SRC_MANIFEST = "sha256:7e9b6e7ba2842c91cf49f3e214d04a7a496f8214356f41d81a6e6dcad11f11e3";
/** Config of the `amd64` image in the hello-world layout. */
const SRC_CONFIG = "sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d";

Deno.test("convertImage() writes an OCI layout whose layer holds /hello when the source is a registry", async () => {
  await withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    try {
      const repo = openRepository(`${registry.host}/hello-world`, { plain: true });
      try {
        await pushLayout(repo, HELLO_LAYOUT);
      } finally {
        repo.close();
      }
      const srcConfig = JSON.parse(
        await Deno.readTextFile(layoutBlobPath(HELLO_LAYOUT, SRC_CONFIG)),
      );
      await Deno.mkdir(`${tmp}/work`);
      const result = await convertImage(
        `${registry.host}/hello-world:amd64`,
        `oci:${tmp}/out:obd`,
        {
          plain: true,
          workdir: `${tmp}/work`,
        },
      );
      assert.deepEqual([...Deno.readDirSync(`${tmp}/work`)], [], "temporary files are removed");

      const { descriptor, manifest } = await resolveLayoutImage(`${tmp}/out`, "obd");
      // Docker media types unless --oci, as upstream (spec §7.1).
      assert.deepEqual(
        [descriptor.mediaType, manifest.mediaType, manifest.config.mediaType],
        [DOCKER_MANIFEST, DOCKER_MANIFEST, DOCKER_CONFIG],
      );
      assert.equal(manifest.layers.length, 1);
      const layer = manifest.layers[0];
      assert.equal(layer.mediaType, DOCKER_LAYER_TAR);
      assert.equal(layer.digest, result.layers[0].digest);
      assert.equal(layer.annotations?.[labels.BLOB_DIGEST], layer.digest);
      assert.equal(layer.annotations?.[labels.VERSION], "0.1.0");
      const config = JSON.parse(
        await Deno.readTextFile(layoutBlobPath(`${tmp}/out`, manifest.config.digest)),
      );
      assert.deepEqual(config.rootfs.diff_ids, [layer.digest]);
      assert.equal(config.architecture, "amd64");
      assert.deepEqual(config.history, srcConfig.history);

      const blob = layoutBlobPath(`${tmp}/out`, layer.digest);
      assert.equal(await helloSha(blob, tmp), HELLO_SHA);
      // The single layer's uuid is its chainID = diffID of the source layer (spec §7.3).
      const info = JSON.stringify(await inspectFile(blob));
      const diffId = srcConfig.rootfs.diff_ids[0];
      assert.ok(
        info.toLowerCase().includes(layerUuid(diffId)),
        `uuid ${layerUuid(diffId)} in ${info.slice(0, 400)}`,
      );
      // Reproducible: converting again gives the same layer digests; --oci changes only the types.
      const again = await convertImage(
        `${registry.host}/hello-world:amd64`,
        `oci:${tmp}/out2:obd`,
        { plain: true, workdir: `${tmp}/work`, oci: true },
      );
      assert.equal(again.layers[0].digest, result.layers[0].digest);
      const oci = await resolveLayoutImage(`${tmp}/out2`, "obd");
      assert.deepEqual(
        [oci.descriptor.mediaType, oci.manifest.config.mediaType, oci.manifest.layers[0].mediaType],
        [OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_TAR],
      );
      assert.deepEqual(oci.manifest.layers[0].annotations, layer.annotations);
    } finally {
      await registry.stop();
    }
  });
});

Deno.test({
  name:
    "overlaybd obdconv pushes an image that overlaybd mount reads when source and target are a registry",
  ignore: !isRoot,
  fn: async () => {
    await withHelloRegistry({}, async (f) => {
      const host = f.registry.host;
      const conv = await runCli([
        "obdconv",
        "--plain",
        "--db-path",
        `${f.tmp}/obdconv.db`,
        `${host}/hello-world:amd64`,
        `${host}/hello-world:obd`,
      ]);
      assert.equal(conv.code, 0, conv.stderr);
      assert.match(conv.stderr, /^layer 1\/1 sha256:[0-9a-f]{64}: .* -> sha256:[0-9a-f]{64}/m);
      const r = await f.mountSource(`${host}/hello-world:obd`);
      try {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await sha256(await Deno.readFile(`${f.mnt}/hello`)), HELLO_SHA);
      } finally {
        if (await isMounted(f.mnt)) await f.umount();
      }
    });
  },
});

Deno.test("overlaybd obdconv fails in one line and leaves nothing when the source registry is unreachable", async () => {
  await withTempDir(async (tmp) => {
    await Deno.mkdir(`${tmp}/work`);
    const r = await runCli([
      "obdconv",
      "--plain",
      "--workdir",
      `${tmp}/work`,
      `127.0.0.1:${freePort()}/hello-world:amd64`,
      `oci:${tmp}/out:obd`,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^overlaybd: .*127\.0\.0\.1/);
    assert.deepEqual([...Deno.readDirSync(`${tmp}/work`)], []);
    assert.equal(await Deno.stat(`${tmp}/out`).catch(() => undefined), undefined);
  });
});

/** Writes `data` as a blob of the layout `dir`; returns its descriptor fields. */
async function putBlob(dir: string, data: Uint8Array<ArrayBuffer>) {
  const digest = `sha256:${await sha256(data)}`;
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  await Deno.writeFile(layoutBlobPath(dir, digest), data);
  return { digest, size: data.length };
}

/**
 * A layout `dir` with one image tagged `t`: a gzip layer of `data` (as
 * given, digest from the bytes) and a config with `diffId`.
 */
async function oneLayerLayout(dir: string, gz: Uint8Array<ArrayBuffer>, diffId: string) {
  const layer = await putBlob(dir, gz);
  const config = await putBlob(
    dir,
    new TextEncoder().encode(JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [diffId] },
    })),
  );
  const manifest = await putBlob(
    dir,
    new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, ...config },
      layers: [{ mediaType: OCI_LAYER_GZIP, ...layer }],
    })),
  );
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: OCI_MANIFEST, ...manifest, annotations: { [REF_NAME]: "t" } }],
    }),
  );
  return layer;
}

/** A gzip tar of 300 kB of random data, and the sha256 of the tar. */
async function smallLayer(tmp: string): Promise<{ gz: Uint8Array<ArrayBuffer>; diffId: string }> {
  await Deno.mkdir(`${tmp}/src`);
  await Deno.writeFile(`${tmp}/src/data.bin`, randomBytes(300_000));
  await runTool("tar", ["-cf", `${tmp}/layer.tar`, "-C", `${tmp}/src`, "data.bin"]);
  const diffId = `sha256:${await sha256(await Deno.readFile(`${tmp}/layer.tar`))}`;
  await runTool("gzip", ["-n", `${tmp}/layer.tar`]);
  return { gz: await Deno.readFile(`${tmp}/layer.tar.gz`), diffId };
}

/** Runs obdconv from `oci:src:t` into `oci:out:obd`; asserts one line and nothing left. */
async function convertFails(tmp: string, src: string): Promise<string> {
  await Deno.mkdir(`${tmp}/work`);
  const r = await runCli([
    "obdconv",
    "--workdir",
    `${tmp}/work`,
    `oci:${src}:t`,
    `oci:${tmp}/out:obd`,
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.deepEqual([...Deno.readDirSync(`${tmp}/work`)], []);
  assert.equal(await Deno.stat(`${tmp}/out`).catch(() => undefined), undefined, "nothing stored");
  return r.stderr;
}

Deno.test("overlaybd obdconv names the layer in one line and stores nothing when its gzip is corrupt", async () => {
  await withTempDir(async (tmp) => {
    const { gz, diffId } = await smallLayer(tmp);
    gz.fill(0x55, 1000, 1200);
    const layer = await oneLayerLayout(`${tmp}/layout`, gz, diffId);
    const stderr = await convertFails(tmp, `${tmp}/layout`);
    assert.match(stderr, new RegExp(`^overlaybd: layer 1/1 ${layer.digest}: .*corrupt gzip`));
  });
});

Deno.test("overlaybd obdconv names the layer in one line and stores nothing when the tar does not match its diff_id", async () => {
  await withTempDir(async (tmp) => {
    const { gz } = await smallLayer(tmp);
    const wrong = `sha256:${"d".repeat(64)}`;
    const layer = await oneLayerLayout(`${tmp}/layout`, gz, wrong);
    const stderr = await convertFails(tmp, `${tmp}/layout`);
    assert.match(
      stderr,
      new RegExp(`^overlaybd: layer 1/1 ${layer.digest}: .*diff_id is ${wrong}`),
    );
  });
});

Deno.test("overlaybd obdconv names the layer in one line and stores nothing when the blob does not match its digest", async () => {
  await withTempDir(async (tmp) => {
    const { gz, diffId } = await smallLayer(tmp);
    const layer = await oneLayerLayout(`${tmp}/layout`, gz, diffId);
    // Another valid gzip of the same tar under the old name: only the blob digest is off.
    const path = layoutBlobPath(`${tmp}/layout`, layer.digest);
    const other = new Uint8Array([...gz.subarray(0, 4), 1, 2, 3, 4, ...gz.subarray(8)]);
    await Deno.writeFile(path, other);
    const stderr = await convertFails(tmp, `${tmp}/layout`);
    assert.match(stderr, new RegExp(`^overlaybd: layer 1/1 ${layer.digest}: .*blob has digest`));
  });
});

Deno.test("convertImage() with referrer pushes a manifest the source's referrers list when both are in a registry", async () => {
  await withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    const repo = openRepository(`${registry.host}/hello-world`, { plain: true });
    try {
      await pushLayout(repo, HELLO_LAYOUT);
      const result = await convertImage(
        `${registry.host}/hello-world:amd64`,
        `${registry.host}/hello-world:obd`,
        { plain: true, referrer: true },
      );
      const { descriptor, manifest } = await resolveImage(repo, "obd");
      assert.equal(descriptor.digest, result.manifestDigest);
      assert.equal(manifest.subject?.digest, SRC_MANIFEST);
      assert.equal(manifest.artifactType, OVERLAYBD_NATIVE_ARTIFACT);
      const referrers = await listReferrers(repo, SRC_MANIFEST);
      assert.deepEqual(referrers.map((r) => [r.digest, r.artifactType]), [
        [result.manifestDigest, OVERLAYBD_NATIVE_ARTIFACT],
      ]);
    } finally {
      repo.close();
      await registry.stop();
    }
  });
});
