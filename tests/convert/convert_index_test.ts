import assert from "node:assert/strict";
import {
  convertImage,
  layoutBlobPath,
  REF_NAME,
  resolveLayoutImage,
} from "../../src/convert/mod.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  fetchManifest,
  type ImageIndex,
  OCI_INDEX,
  OCI_MANIFEST,
  openRepository,
  readBlob,
  resolveImage,
} from "../../src/registry/mod.ts";
import { runCli, sha256, withTempDir } from "../_helpers.ts";
import { HELLO_SHA } from "../mount/_mounted.ts";
import { HELLO_LAYOUT, pushLayout } from "../registry/_layout.ts";
import { helloSha } from "./_hello.ts";
import { startRegistry } from "../registry/_registry.ts";

/** The `docker-list` manifest list of the hello-world layout (9 platforms, all blobs present). */
const DOCKER_LIST = "sha256:726023f73a8fc5103fa6776d48090539042cb822531c6b751b1f6dd18cb5705d";
/** Manifest, config and layer of its linux/amd64 image. */
const AMD64 = "sha256:7e9b6e7ba2842c91cf49f3e214d04a7a496f8214356f41d81a6e6dcad11f11e3";

Deno.test("convertImage() pushes a manifest list of Docker manifests with every platform converted when the source is a manifest list", async () => {
  await withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    const repo = openRepository(`${registry.host}/hello-world`, { plain: true });
    try {
      const src = JSON.parse(
        await Deno.readTextFile(layoutBlobPath(HELLO_LAYOUT, DOCKER_LIST)),
      ) as ImageIndex;
      const result = await convertImage(
        `oci:${HELLO_LAYOUT}:docker-list`,
        `${registry.host}/hello-world:obd`,
        { plain: true },
      );
      assert.equal(result.platforms?.length, 9);
      const top = await fetchManifest(repo, "obd");
      // Without --oci the source's index type and Docker manifests (spec §7.1).
      assert.equal(top.descriptor.mediaType, DOCKER_MANIFEST_LIST);
      assert.equal(top.descriptor.digest, result.manifestDigest);
      const index = top.content as ImageIndex;
      assert.deepEqual(
        index.manifests.map((m) => [m.mediaType, m.platform]),
        src.manifests.map((m) => [DOCKER_MANIFEST, m.platform]),
      );
      for (const entry of index.manifests) {
        const { manifest } = await resolveImage(repo, "obd", { platform: entry.platform });
        const config = JSON.parse(new TextDecoder().decode(
          await readBlob(repo, manifest.config.digest),
        ));
        assert.equal(config.architecture, entry.platform!.architecture);
        assert.equal(manifest.layers.length, 1);
      }
      // The amd64 entry is the same image as a single-platform conversion.
      const single = await convertImage(`oci:${HELLO_LAYOUT}:amd64`, `oci:${tmp}/single:obd`);
      const amd64 = index.manifests.find((m) => m.platform?.architecture === "amd64")!;
      assert.equal(amd64.digest, single.manifestDigest);
      await Deno.writeFile(
        `${tmp}/layer`,
        await readBlob(repo, single.layers[0].digest),
      );
      assert.equal(await helloSha(`${tmp}/layer`, tmp), HELLO_SHA);
    } finally {
      repo.close();
      await registry.stop();
    }
  });
});

/** Output bytes as trimmed text. */
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();

/** Copies a blob of the hello-world layout into the layout `dir`. */
async function copyBlob(dir: string, digest: string): Promise<{ digest: string; size: number }> {
  const bytes = await Deno.readFile(layoutBlobPath(HELLO_LAYOUT, digest));
  await Deno.writeFile(layoutBlobPath(dir, digest), bytes);
  return { digest, size: bytes.length };
}

Deno.test("convertImage() skips attestation manifests when converting an OCI index into a layout with --oci", async () => {
  await withTempDir(async (tmp) => {
    const dir = `${tmp}/src`;
    await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
    const manifest = JSON.parse(await Deno.readTextFile(layoutBlobPath(HELLO_LAYOUT, AMD64)));
    const image = await copyBlob(dir, AMD64);
    await copyBlob(dir, manifest.config.digest);
    await copyBlob(dir, manifest.layers[0].digest);
    const index = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: manifest.mediaType,
          ...image,
          platform: { os: "linux", architecture: "amd64" },
        },
        {
          // Its blob is absent: converting it would fail.
          mediaType: OCI_MANIFEST,
          digest: `sha256:${"a".repeat(64)}`,
          size: 840,
          platform: { os: "unknown", architecture: "unknown" },
          annotations: {
            "vnd.docker.reference.digest": AMD64,
            "vnd.docker.reference.type": "attestation-manifest",
          },
        },
      ],
    }));
    const indexDigest = `sha256:${await sha256(index)}`;
    await Deno.writeFile(layoutBlobPath(dir, indexDigest), index);
    await Deno.writeTextFile(
      `${dir}/index.json`,
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{
          mediaType: OCI_INDEX,
          digest: indexDigest,
          size: index.length,
          annotations: { [REF_NAME]: "multi" },
        }],
      }),
    );
    const result = await convertImage(`oci:${dir}:multi`, `oci:${tmp}/out:obd`, { oci: true });
    assert.deepEqual(result.platforms?.map((p) => p.platform.architecture), ["amd64"]);
    assert.equal(result.platforms?.[0].result.manifest.mediaType, OCI_MANIFEST);
    const out = JSON.parse(await Deno.readTextFile(`${tmp}/out/index.json`)) as ImageIndex;
    assert.deepEqual(out.manifests.map((m) => [m.mediaType, m.digest]), [
      [OCI_INDEX, result.manifestDigest],
    ]);
    const { manifest: converted } = await resolveLayoutImage(`${tmp}/out`, "obd");
    const blob = layoutBlobPath(`${tmp}/out`, converted.layers[0].digest);
    assert.equal(await helloSha(blob, tmp), HELLO_SHA);
  });
});

Deno.test("overlaybd obdconv converts every platform of a registry manifest list and reuses them all the second time", async () => {
  await withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    const repo = openRepository(`${registry.host}/hello-world`, { plain: true });
    try {
      await pushLayout(repo, HELLO_LAYOUT);
      const conv = (tag: string) =>
        runCli([
          "obdconv",
          "--plain",
          "--db-path",
          `${tmp}/obdconv.db`,
          `${registry.host}/hello-world:docker-list`,
          `${registry.host}/hello-world:${tag}`,
        ]);
      const one = await conv("obd");
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stderr, /^linux\/arm64\S* layer 1\/1 sha256:[0-9a-f]{64}: .* -> /m);
      assert.match(one.stderr, /9 platforms, 9 layers/);
      const two = await conv("obd2");
      assert.equal(two.code, 0, two.stderr);
      assert.equal(two.stderr.match(/: reused sha256:/g)?.length, 9, two.stderr);
      assert.equal(text(two.stdout), text(one.stdout));
      const top = await fetchManifest(repo, "obd2");
      assert.equal(top.descriptor.digest, text(one.stdout));
    } finally {
      repo.close();
      await registry.stop();
    }
  });
});
