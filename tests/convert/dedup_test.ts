import assert from "node:assert/strict";
import {
  convertImage,
  layerKey,
  layoutBlobPath,
  manifestKey,
  outputSettings,
  outputSettingsKey,
  SqliteConversionStore,
} from "../../src/convert/mod.ts";
import { chainIds } from "../../src/oci/mod.ts";
import { blobExists, DOCKER_MANIFEST, openRepository } from "../../src/registry/mod.ts";
import { runCli, sha256, withTempDir } from "../_helpers.ts";
import { HELLO_SHA, isMounted, withHelloRegistry } from "../mount/_mounted.ts";
import { HELLO_LAYOUT, pushLayout } from "../registry/_layout.ts";
import { startRegistry } from "../registry/_registry.ts";

const isRoot = Deno.uid() === 0;
/** Manifest and config of the `amd64` image in the hello-world layout. */
const SRC_MANIFEST = "sha256:7e9b6e7ba2842c91cf49f3e214d04a7a496f8214356f41d81a6e6dcad11f11e3";
const SRC_CONFIG = "sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d";
/** The dedup settings of a conversion with the default options. */
const DEFAULTS = outputSettingsKey(outputSettings({}));

/** Pushes the hello-world layout into `host/hello-world`. */
async function pushHello(host: string): Promise<void> {
  const repo = openRepository(`${host}/hello-world`, { plain: true });
  try {
    await pushLayout(repo, HELLO_LAYOUT);
  } finally {
    repo.close();
  }
}

Deno.test("convertImage() reuses every layer, also across repositories, when a store saw the same registry", async () => {
  await withTempDir(async (tmp) => {
    await Deno.mkdir(`${tmp}/a`);
    await Deno.mkdir(`${tmp}/b`);
    const store = new SqliteConversionStore(`${tmp}/db/obdconv.db`);
    const registry = await startRegistry(`${tmp}/a`);
    try {
      const host = registry.host;
      await pushHello(host);
      const src = `${host}/hello-world:amd64`;
      const first = await convertImage(src, `${host}/hello-world:obd`, { plain: true, store });
      assert.deepEqual(first.layers.map((l) => l.reused), [false]);

      const again = await convertImage(src, `${host}/hello-world:obd2`, { plain: true, store });
      assert.deepEqual(again.layers.map((l) => l.reused), [true]);
      assert.deepEqual(again.layers.map((l) => l.digest), first.layers.map((l) => l.digest));
      assert.equal(again.manifestDigest, first.manifestDigest);
      assert.equal(again.blobsWritten, 0);

      // Another kind of manifest (a referrer): no manifest row, the layer row of this repository.
      const referrer = await convertImage(src, `${host}/hello-world:ref`, {
        plain: true,
        store,
        referrer: true,
      });
      assert.deepEqual(referrer.layers.map((l) => [l.reused, l.mountFrom]), [[true, undefined]]);
      assert.notEqual(referrer.manifestDigest, first.manifestDigest);
      assert.equal(referrer.blobsWritten, 0);

      const copy = await convertImage(src, `${host}/copy:obd`, { plain: true, store });
      assert.deepEqual(copy.layers.map((l) => [l.reused, l.mountFrom]), [[true, "hello-world"]]);
      assert.equal(copy.manifestDigest, first.manifestDigest);
      const repo = openRepository(`${host}/copy`, { plain: true });
      try {
        assert.ok(await blobExists(repo, first.layers[0].digest), "mounted into copy");
      } finally {
        repo.close();
      }
      assert.deepEqual(
        (await store.manifests(
          { host, repo: "copy" },
          SRC_MANIFEST,
          manifestKey(DOCKER_MANIFEST, DEFAULTS),
        )).map((m) => m.repo),
        ["copy", "hello-world"],
      );
    } finally {
      await registry.stop();
    }

    // A fresh registry on the same address: the rows point at blobs it does not have.
    const fresh = await startRegistry(`${tmp}/b`, { port: registry.port });
    try {
      const host = fresh.host;
      await pushHello(host);
      const r = await convertImage(`${host}/hello-world:amd64`, `${host}/other:obd`, {
        plain: true,
        store,
      });
      assert.deepEqual(r.layers.map((l) => l.reused), [false]);
      const config = JSON.parse(await Deno.readTextFile(layoutBlobPath(HELLO_LAYOUT, SRC_CONFIG)));
      const [chain] = await chainIds(config.rootfs.diff_ids);
      assert.deepEqual(
        (await store.layers({ host, repo: "other" }, layerKey(chain, DEFAULTS))).map((l) => l.repo),
        ["other"],
        "stale rows are deleted, the new one recorded",
      );
    } finally {
      await fresh.stop();
      await store.close();
      await store.close();
    }
  });
});

Deno.test("convertImage() rebuilds layers converted before with another algorithm, block size or virtual size", async () => {
  await withTempDir(async (tmp) => {
    const store = new SqliteConversionStore(`${tmp}/db/obdconv.db`);
    const registry = await startRegistry(tmp);
    try {
      const host = registry.host;
      await pushHello(host);
      const src = `${host}/hello-world:amd64`;
      const convert = (tag: string, more: Parameters<typeof convertImage>[2] = {}) =>
        convertImage(src, `${host}/hello-world:${tag}`, { plain: true, store, ...more });
      const base = await convert("obd");
      const variants = [{ algorithm: "zstd" as const }, { blockSize: 65536 }, {
        virtualSize: 2 ** 30,
      }];
      const digests = new Set([base.layers[0].digest]);
      for (const [i, v] of variants.entries()) {
        const r = await convert(`v${i}`, v);
        assert.deepEqual(r.layers.map((l) => l.reused), [false], JSON.stringify(v));
        digests.add(r.layers[0].digest);
        // The same settings again: reused, as is the manifest.
        const again = await convert(`v${i}-again`, v);
        assert.deepEqual(again.layers.map((l) => l.reused), [true], JSON.stringify(v));
        assert.equal(again.manifestDigest, r.manifestDigest);
      }
      assert.equal(digests.size, 4, "each setting gives other bytes");
    } finally {
      await registry.stop();
      await store.close();
    }
  });
});

Deno.test({
  name: "overlaybd obdconv prints reused and the mount reads /hello when converting a second time",
  ignore: !isRoot,
  fn: async () => {
    await withHelloRegistry({}, async (f) => {
      const host = f.registry.host;
      const conv = (tag: string) =>
        runCli([
          "obdconv",
          "--plain",
          "--db-path",
          `${f.tmp}/db/obdconv.db`,
          `${host}/hello-world:amd64`,
          `${host}/hello-world:${tag}`,
        ]);
      const one = await conv("obd");
      assert.equal(one.code, 0, one.stderr);
      assert.doesNotMatch(one.stderr, /reused/);
      const two = await conv("obd2");
      assert.equal(two.code, 0, two.stderr);
      assert.match(two.stderr, /^layer 1\/1 sha256:[0-9a-f]{64}: reused sha256:[0-9a-f]{64}/m);
      const r = await f.mountSource(`${host}/hello-world:obd2`);
      try {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await sha256(await Deno.readFile(`${f.mnt}/hello`)), HELLO_SHA);
      } finally {
        if (await isMounted(f.mnt)) await f.umount();
      }
    });
  },
});
