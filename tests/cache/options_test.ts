import assert from "node:assert/strict";
import { BLOB_CACHE_DEFAULTS, resolveBlobCacheOptions } from "../../src/cache/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";

Deno.test("resolveBlobCacheOptions() applies the spec §6 defaults when nothing is given", () => {
  assert.deepEqual(resolveBlobCacheOptions({}), {
    cacheDir: BLOB_CACHE_DEFAULTS.cacheDir,
    capBytes: 4 * 2 ** 30,
    refillSize: 262144,
    fetchTimeoutMs: 30_000,
  });
});

Deno.test("resolveBlobCacheOptions() accepts fractional GiB and other refill sizes", () => {
  const o = resolveBlobCacheOptions({ cacheDir: "/c", cacheSizeGB: 0.5, refillSize: 1 << 20 });
  assert.equal(o.capBytes, 2 ** 29);
  assert.equal(o.refillSize, 1 << 20);
});

Deno.test("resolveBlobCacheOptions() throws InvalidArgumentError naming a bad value", () => {
  const bad = [
    { cacheSizeGB: 0 },
    { cacheSizeGB: -1 },
    { cacheSizeGB: Infinity },
    { refillSize: 1000 },
    { refillSize: 2048 },
    { refillSize: 8 << 20 },
    { refillSize: 3 * 4096 },
    { fetchTimeoutMs: -1 },
    { cacheDir: "" },
  ];
  for (const options of bad) {
    assert.throws(() => resolveBlobCacheOptions(options), (e: Error) => {
      assert.ok(e instanceof InvalidArgumentError);
      const [key, value] = Object.entries(options)[0];
      assert.match(e.message, new RegExp(key === "cacheDir" ? "cacheDir" : `${key} ${value}`));
      return true;
    });
  }
});
