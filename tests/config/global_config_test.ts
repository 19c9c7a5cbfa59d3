import assert from "node:assert/strict";
import { defaultGlobalConfig, parseGlobalConfig, readGlobalConfig } from "../../src/config/mod.ts";
import { NotFoundError } from "../../src/errors.ts";
import { vector } from "../_helpers.ts";

Deno.test("readGlobalConfig() reads upstream's example overlaybd.json", async () => {
  const c = await readGlobalConfig(vector("upstream/example_config/overlaybd.json"));
  assert.deepEqual(c.cacheConfig, {
    cacheType: "file",
    cacheDir: "/opt/overlaybd/registry_cache",
    cacheSizeGB: 4,
    refillSize: 262144,
  });
  assert.deepEqual(c.credentialConfig, { mode: "file", path: "/opt/overlaybd/cred.json" });
  assert.equal(c.download.enable, true);
  assert.equal(c.download.delay, 600);
  assert.equal(c.download.tryCnt, 5);
  assert.equal(c.exporterConfig.port, 9863);
});

Deno.test("parseGlobalConfig() honours the legacy top-level keys", () => {
  const c = parseGlobalConfig(
    '{"registryCacheDir":"/c","registryCacheSizeGB":9,"credentialFilePath":"/cred","logLevel":3}',
    "g",
  );
  assert.equal(c.cacheConfig.cacheDir, "/c");
  assert.equal(c.cacheConfig.cacheSizeGB, 9);
  assert.deepEqual(c.credentialConfig, { mode: "file", path: "/cred" });
  assert.equal(c.logConfig.logLevel, 3);
});

Deno.test("parseGlobalConfig() of {} is the defaults", () => {
  assert.deepEqual(parseGlobalConfig("{}", "g"), defaultGlobalConfig());
});

Deno.test("parseGlobalConfig() names a key of the wrong type", () => {
  assert.throws(
    () => parseGlobalConfig('{"cacheConfig":{"cacheSizeGB":"4"}}', "g.json"),
    /g\.json: cacheConfig\.cacheSizeGB/,
  );
});

Deno.test("readGlobalConfig() of a missing non-default path is NotFoundError", async () => {
  await assert.rejects(() => readGlobalConfig("/nonexistent/overlaybd.json"), NotFoundError);
});
