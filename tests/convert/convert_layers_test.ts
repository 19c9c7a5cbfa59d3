import assert from "node:assert/strict";
import {
  convertImage,
  type LayerDone,
  layoutBlobPath,
  SqliteConversionStore,
} from "../../src/convert/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from "../../src/registry/mod.ts";
import { randomBytes, sha256, sha256File, withTempDir } from "../_helpers.ts";
import { startRegistry } from "../registry/_registry.ts";

/**
 * A layout `dir` tagged `t` with `n` gzip layers of a few random files each;
 * layer i's files come from seed i, the top layer's from `topSeed` if given.
 */
async function layeredLayout(tmp: string, dir: string, n: number, topSeed?: number) {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const put = async (data: Uint8Array<ArrayBuffer>) => {
    const digest = `sha256:${await sha256(data)}`;
    await Deno.writeFile(layoutBlobPath(dir, digest), data);
    return { digest, size: data.length };
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < n; i++) {
    const seed = i === n - 1 && topSeed !== undefined ? topSeed : i;
    const src = `${tmp}/l${seed}`;
    await Deno.remove(src, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${src}/d${i}`, { recursive: true });
    for (let f = 0; f < 20; f++) {
      await Deno.writeFile(`${src}/d${i}/f${f}`, randomBytes(1000 + f * 5000, seed * 100 + f + 1));
    }
    const tar = `${tmp}/l${seed}.tar`;
    await runTool("tar", ["-cf", tar, "--mtime=@1", "--sort=name", "-C", src, "."]);
    diffIds.push(`sha256:${await sha256File(tar)}`);
    await runTool("gzip", ["-n", "-f", tar]);
    layers.push({
      mediaType: OCI_LAYER_GZIP,
      ...await put(await Deno.readFile(`${tar}.gz`)),
    });
  }
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  const config = await put(
    enc({ os: "linux", architecture: "amd64", rootfs: { diff_ids: diffIds } }),
  );
  const manifest = await put(enc({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...config },
    layers,
  }));
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: OCI_MANIFEST,
        ...manifest,
        annotations: { "org.opencontainers.image.ref.name": "t" },
      }],
    }),
  );
}

Deno.test("convertImage() gives the same image whatever the concurrency, reporting layers in order", async () => {
  await withTempDir(async (tmp) => {
    await layeredLayout(tmp, `${tmp}/src`, 4);
    const digests: string[] = [];
    for (const concurrency of [1, 2, 4]) {
      const done: LayerDone[] = [];
      const progress: { layer: number; read: number; size: number }[] = [];
      const r = await convertImage(`oci:${tmp}/src:t`, `oci:${tmp}/out${concurrency}:obd`, {
        concurrency,
        onLayer: (l) => done.push(l),
        onProgress: (layer, _bytes, blob) => progress.push({ layer, ...blob }),
      });
      digests.push(r.manifestDigest);
      assert.deepEqual(done.map((l) => l.index), [0, 1, 2, 3]);
      assert.deepEqual(done.map((l) => l.blob.digest), r.layers.map((l) => l.digest));
      assert.ok(done.every((l) => !l.reused && l.tarBytes > 0 && l.seconds > 0));
      for (let i = 0; i < 4; i++) {
        const last = progress.filter((p) => p.layer === i).at(-1);
        assert.ok(last && last.read === last.size && last.size > 0, `layer ${i} decoded whole`);
      }
    }
    assert.equal(new Set(digests).size, 1, digests.join(" "));
  });
});

Deno.test("convertImage() reuses the shared lower layers of another image and converts the rest on them", async () => {
  await withTempDir(async (tmp) => {
    await layeredLayout(tmp, `${tmp}/a`, 3);
    await layeredLayout(tmp, `${tmp}/b`, 3, 7);
    const store = new SqliteConversionStore(`${tmp}/db`);
    const registry = await startRegistry(tmp);
    try {
      const dst = (t: string) => `${registry.host}/img:${t}`;
      const a = await convertImage(`oci:${tmp}/a:t`, dst("a"), { plain: true, store });
      const b = await convertImage(`oci:${tmp}/b:t`, dst("b"), { plain: true, store });
      assert.deepEqual(b.layers.map((l) => l.reused), [true, true, false]);
      assert.deepEqual(
        b.layers.slice(0, 2),
        a.layers.slice(0, 2).map((l) => ({ ...l, reused: true })),
      );
      // The third layer was built on the reused ones: the same as converting b without a store.
      const fresh = await convertImage(`oci:${tmp}/b:t`, `oci:${tmp}/fresh:t`);
      assert.deepEqual(b.layers.map((l) => l.digest), fresh.layers.map((l) => l.digest));
    } finally {
      await registry.stop();
      await store.close();
    }
  });
});
