import assert from "node:assert/strict";
import { Image } from "../../ffi/image.ts";
import { CorruptDataError, InvalidArgumentError, UnavailableError } from "../../src/errors.ts";
import {
  type BlobCache,
  openBlobCache,
  openRemoteBlobSource,
  preadFileAsync,
  preadImageAsync,
  type RemoteBlobSource,
} from "../../src/cache/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { COMMIT_DIGEST, type GoldenBlob, loadGolden } from "./_golden_blob.ts";

const MIB = 1 << 20;
const { blob: golden, view } = await loadGolden();

interface Rig {
  cache: BlobCache;
  source: RemoteBlobSource;
  image: Image;
}

async function openRig(dir: string, blob: GoldenBlob, cacheSizeGB = 1): Promise<Rig> {
  const source = openRemoteBlobSource({ maxInflight: 8 });
  const cache = openBlobCache({ cacheDir: dir, cacheSizeGB });
  try {
    const layer = await cache.openLayer({
      source,
      digest: COMMIT_DIGEST,
      size: blob.size,
      fetchRange: blob.fetchRange,
    });
    return { cache, source, image: Image.open([layer]) };
  } catch (e) {
    cache.close();
    await source.close();
    throw e;
  }
}

async function closeRig(r: Rig): Promise<void> {
  r.image.close();
  r.cache.close();
  await r.source.close();
}

/** Reads the first 12 MiB of the image in 1 MiB async reads and compares with view.raw. */
async function assertView(image: Image): Promise<void> {
  const buf = new Uint8Array(MIB);
  for (let off = 0; off < view.byteLength; off += MIB) {
    assert.equal(await preadImageAsync(image, buf, off), MIB);
    assert.ok(buf.every((b, i) => b === view[off + i]), `view differs in [${off}, +1 MiB)`);
  }
}

Deno.test("openLayer() reads a remote blob's view through the cache, fetching each byte once", async () => {
  await withTempDir(async (dir) => {
    golden.requests = golden.bytesServed = 0;
    const rig = await openRig(dir, golden);
    try {
      await assertView(rig.image);
      await assertView(rig.image); // cached: no more fetches
      const native = rig.cache.stats();
      const ts = rig.source.stats();
      assert.ok(ts.bytesFetched <= golden.size, `${ts.bytesFetched} > ${golden.size}`);
      assert.equal(ts.bytesFetched, golden.bytesServed);
      assert.equal(native.bytesFetched, ts.bytesFetched);
      assert.equal(native.fetchRequests, ts.requests);
      assert.equal(native.cachedBytes, ts.bytesFetched);
    } finally {
      await closeRig(rig);
    }
  });
});

Deno.test("openBlobCache() reuses cached pages after reopen without fetching", async () => {
  await withTempDir(async (dir) => {
    const first = await openRig(dir, golden);
    await assertView(first.image).finally(() => closeRig(first));
    const before = golden.requests;
    const again = await openRig(dir, golden);
    try {
      assert.ok(again.cache.stats().cachedBytes > 0);
      await assertView(again.image);
      assert.equal(golden.requests, before);
      assert.equal(again.source.stats().requests, 0);
    } finally {
      await closeRig(again);
    }
  });
});

Deno.test("preadImageAsync() throws UnavailableError naming the digest when fetchRange rejects, then recovers", async () => {
  await withTempDir(async (dir) => {
    const { blob } = await loadGolden();
    const rig = await openRig(dir, blob);
    try {
      blob.fault = "reject";
      const buf = new Uint8Array(MIB);
      let err: unknown;
      for (let off = 0; off < view.byteLength && !err; off += MIB) {
        err = await preadImageAsync(rig.image, buf, off).then(() => undefined, (e) => e);
      }
      assert.ok(err instanceof UnavailableError, String(err));
      assert.match(err.message, new RegExp(COMMIT_DIGEST));
      assert.match(err.message, /injected failure/);
      assert.ok(rig.source.stats().failures > 0);
      blob.fault = "none";
      await assertView(rig.image);
    } finally {
      await closeRig(rig);
    }
  });
});

Deno.test("preadImageAsync() throws CorruptDataError for corrupted bytes, never wrong data, and heals", async () => {
  await withTempDir(async (dir) => {
    const { blob } = await loadGolden();
    const rig = await openRig(dir, blob);
    try {
      blob.fault = "corrupt";
      const buf = new Uint8Array(MIB);
      let corrupt = 0;
      for (let off = 0; off < view.byteLength; off += MIB) {
        try {
          await preadImageAsync(rig.image, buf, off);
          assert.ok(buf.every((b, i) => b === view[off + i]), `wrong bytes at ${off}`);
        } catch (e) {
          assert.ok(e instanceof CorruptDataError, String(e));
          corrupt++;
        }
      }
      assert.ok(corrupt > 0);
      blob.fault = "none";
      await assertView(rig.image);
    } finally {
      await closeRig(rig);
    }
  });
});

Deno.test("a stalled fetch times out with UnavailableError and the process does not hang", async () => {
  await withTempDir(async (dir) => {
    const { blob } = await loadGolden();
    const source = openRemoteBlobSource();
    const cache = openBlobCache({ cacheDir: dir, fetchTimeoutMs: 200 });
    const file = cache.openBlob({
      source,
      digest: COMMIT_DIGEST,
      size: blob.size,
      fetchRange: blob.fetchRange,
    });
    try {
      blob.fault = "stall";
      const t0 = performance.now();
      await assert.rejects(preadFileAsync(file, new Uint8Array(4096), 0), UnavailableError);
      assert.ok(performance.now() - t0 < 2000);
    } finally {
      file.close();
      cache.close();
      await source.close(); // aborts the stalled fetchRange
    }
  });
});

Deno.test("many concurrent async reads return the right bytes, each page fetched once", async () => {
  await withTempDir(async (dir) => {
    const { blob } = await loadGolden();
    const rig = await openRig(dir, blob);
    try {
      const size = 64 * 1024;
      const offsets = Array.from(
        { length: 96 },
        (_, i) => (i * 7919 * 512) % (view.byteLength - size),
      );
      const aligned = offsets.map((o) => o - (o % 512));
      await Promise.all(aligned.map(async (off) => {
        const buf = new Uint8Array(size);
        assert.equal(await preadImageAsync(rig.image, buf, off), size);
        assert.ok(buf.every((b, i) => b === view[off + i]), `wrong bytes at ${off}`);
      }));
      assert.ok(rig.source.stats().bytesFetched <= blob.size);
    } finally {
      await closeRig(rig);
    }
  });
});

Deno.test("openBlobCache() keeps cached bytes under a small cap and reads stay correct", async () => {
  await withTempDir(async (dir) => {
    const { blob } = await loadGolden();
    const rig = await openRig(dir, blob, 1 / 1024); // 1 MiB
    try {
      await assertView(rig.image);
      await assertView(rig.image);
      const s = rig.cache.stats();
      assert.ok(s.cachedBytes <= MIB);
      assert.ok(s.evictions > 0);
    } finally {
      await closeRig(rig);
    }
  });
});

Deno.test("openBlob() throws InvalidArgumentError for a malformed digest", async () => {
  await withTempDir(async (dir) => {
    const source = openRemoteBlobSource();
    const cache = openBlobCache({ cacheDir: dir });
    try {
      assert.throws(
        () =>
          cache.openBlob({ source, digest: "sha256:xyz", size: 10, fetchRange: golden.fetchRange }),
        InvalidArgumentError,
      );
    } finally {
      cache.close();
      await source.close();
    }
  });
});

Deno.test("openBlobCache() refuses a directory another cache holds", async () => {
  await withTempDir((dir) => {
    const cache = openBlobCache({ cacheDir: dir });
    try {
      assert.throws(() => openBlobCache({ cacheDir: dir }), UnavailableError);
    } finally {
      cache.close();
    }
  });
});
