import assert from "node:assert/strict";
import { buildSampleImage, DATA_PATH, OS_RELEASE_LINE, REMOVED_PATH } from "../../src/demo/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import type { ImageIndex, ImageManifest } from "../../src/registry/mod.ts";
import { sha256, sha256File, withTempDir } from "../_helpers.ts";

/** `tar -tv` of a gzip layer blob, one line per entry. */
async function listing(blob: string): Promise<string[]> {
  return (await runTool("tar", ["-tvzf", blob])).split("\n").filter((l) => l);
}

Deno.test("buildSampleImage() writes an OCI layout of two gzip layers with a whiteout", async () => {
  await withTempDir(async (dir) => {
    const image = await buildSampleImage(dir, { dataBytes: 100_000 });
    const index: ImageIndex = JSON.parse(await Deno.readTextFile(`${image.layout}/index.json`));
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].digest, image.manifest.descriptor.digest);
    assert.equal(index.manifests[0].annotations?.["org.opencontainers.image.ref.name"], "latest");
    const manifest: ImageManifest = JSON.parse(new TextDecoder().decode(image.manifest.bytes));
    assert.deepEqual(manifest.layers, image.layers.map((l) => l.descriptor));
    for (const layer of manifest.layers) {
      assert.equal(layer.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
      const blob = `${image.layout}/blobs/${layer.digest.replace(":", "/")}`;
      assert.equal(`sha256:${await sha256File(blob)}`, layer.digest);
    }
    const config = JSON.parse(new TextDecoder().decode(image.config.bytes));
    for (const [i, layer] of image.layers.entries()) {
      const tar = await new Response(
        (await Deno.open(layer.path)).readable.pipeThrough(new DecompressionStream("gzip")),
      ).bytes();
      assert.equal(config.rootfs.diff_ids[i], `sha256:${await sha256(tar)}`);
    }
    const bottom = await listing(image.layers[0].path);
    assert.ok(bottom.some((l) => /^-rwxr-xr-x 0\/0 .* bin\/busybox$/.test(l)), bottom.join("\n"));
    assert.ok(bottom.some((l) => /^l.* bin\/sh -> busybox$/.test(l)));
    assert.ok(bottom.some((l) => l.endsWith(REMOVED_PATH.slice(1))));
    const top = await listing(image.layers[1].path);
    assert.ok(top.some((l) => l.endsWith("etc/.wh.issue")), top.join("\n"));
    assert.ok(top.some((l) => / 100000 .* data\/dataset\.bin$/.test(l)), top.join("\n"));
    assert.ok(!top.some((l) => l.includes("busybox")));
    assert.equal(image.dataFile.path, DATA_PATH);
    assert.deepEqual(Object.keys(image.files).sort(), [
      "/bin/busybox",
      "/etc/motd",
      "/etc/os-release",
      "/usr/share/demo/hello.txt",
    ]);
  });
});

Deno.test("buildSampleImage() gives the same manifest digest on every run", async () => {
  await withTempDir(async (dir) => {
    const a = await buildSampleImage(`${dir}/a`, { dataBytes: 65536 });
    const b = await buildSampleImage(`${dir}/b`, { dataBytes: 65536 });
    assert.equal(a.manifest.descriptor.digest, b.manifest.descriptor.digest);
  });
});

Deno.test("buildSampleImage() puts the line the container must print in /etc/os-release", async () => {
  await withTempDir(async (dir) => {
    const image = await buildSampleImage(dir, { dataBytes: 4096 });
    await Deno.mkdir(`${dir}/x`);
    await runTool("tar", ["-xzf", image.layers[0].path, "-C", `${dir}/x`, "etc/os-release"]);
    const text = await Deno.readTextFile(`${dir}/x/etc/os-release`);
    assert.ok(text.split("\n").includes(OS_RELEASE_LINE), text);
    assert.equal(
      `sha256:${await sha256File(`${dir}/x/etc/os-release`)}`,
      image.files["/etc/os-release"],
    );
  });
});
