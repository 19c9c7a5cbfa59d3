import assert from "node:assert/strict";
import {
  parseDeviceConfig,
  readDeviceConfig,
  serializeDeviceConfig,
} from "../../src/config/mod.ts";
import { InvalidArgumentError, NotFoundError } from "../../src/errors.ts";
import { vector } from "../_helpers.ts";

Deno.test("readDeviceConfig() reads upstream's example redis config", async () => {
  const c = await readDeviceConfig(vector("upstream/example_config/redis.obd.config.json"));
  assert.equal(c.repoBlobUrl, "https://registry-1.docker.io/v2/overlaybd/redis/blobs");
  assert.equal(c.lowers.length, 7);
  assert.deepEqual(c.lowers[0], {
    digest: "sha256:a8b5fca80efae55088290f3da8110d7742de55c2a378d5ab53226a483f390e21",
    size: 4739584,
    dir: "/var/lib/overlaybd/test/1",
  });
  assert.deepEqual(c.upper, {});
  assert.equal(c.download, undefined);
});

Deno.test("serializeDeviceConfig() omits empty optional keys like upstream's Go writer", () => {
  const c = parseDeviceConfig(
    '{"lowers":[{"file":"/a"}],"upper":{"data":"/d","index":"/i"},"unknownKey":1}',
    "x",
  );
  assert.equal(
    serializeDeviceConfig(c),
    '{"repoBlobUrl":"","lowers":[{"file":"/a"}],"upper":{"index":"/i","data":"/d"},"resultFile":""}',
  );
});

Deno.test("parseDeviceConfig() fills download defaults for keys it lacks", () => {
  const c = parseDeviceConfig('{"lowers":[{"file":"/a"}],"download":{"enable":true}}', "x");
  assert.deepEqual(c.download, {
    enable: true,
    delay: 300,
    delayExtra: 30,
    maxMBps: 100,
    tryCnt: 5,
    blockSize: 262144,
  });
});

Deno.test("parseDeviceConfig() names the bad key", () => {
  assert.throws(
    () => parseDeviceConfig('{"lowers":[{"size":"1"}]}', "c.json"),
    /c\.json: lowers\[0\]\.size/,
  );
  assert.throws(() => parseDeviceConfig('{"lowers":[{}]}', "c.json"), InvalidArgumentError);
  assert.throws(() => parseDeviceConfig('{"lowers":[{"digest":"md5:1"}]}', "c.json"), /sha256/);
  assert.throws(
    () => parseDeviceConfig(`{"lowers":[{"digest":"sha256:${"a".repeat(64)}"}]}`, "c.json"),
    /repoBlobUrl/,
  );
  assert.throws(() => parseDeviceConfig("[1]", "c.json"), InvalidArgumentError);
  assert.throws(() => parseDeviceConfig("{", "c.json"), /not valid JSON/);
});

Deno.test("readDeviceConfig() of a missing file is NotFoundError", async () => {
  await assert.rejects(() => readDeviceConfig("/nonexistent/config.v1.json"), NotFoundError);
});
