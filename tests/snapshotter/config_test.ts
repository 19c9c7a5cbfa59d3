import assert from "node:assert/strict";
import { InvalidArgumentError, NotFoundError } from "../../src/errors.ts";
import {
  defaultSnapshotterConfig,
  parseSnapshotterConfig,
  readSnapshotterConfig,
} from "../../src/snapshotter/mod.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("parseSnapshotterConfig() fills upstream's defaults and ignores unknown keys", () => {
  const c = parseSnapshotterConfig('{"future": 1}', "c.json");
  assert.deepEqual(c, defaultSnapshotterConfig());
  assert.equal(c.rwMode, "overlayfs");
  assert.equal(c.defaultFsType, "ext4");
  assert.deepEqual(c.exporterConfig, { enable: false, uriPrefix: "/metrics", port: 9863 });
});

Deno.test("parseSnapshotterConfig() reads upstream's example config", () => {
  const c = parseSnapshotterConfig(
    JSON.stringify({
      root: "/var/lib/containerd/io.containerd.snapshotter.v1.overlaybd",
      address: "/run/overlaybd-snapshotter/overlaybd.sock",
      verbose: "debug",
      rwMode: "overlayfs",
      logReportCaller: false,
      autoRemoveDev: false,
      exporterConfig: { enable: true, uriPrefix: "/metrics", port: 9863 },
      mirrorRegistry: [{ host: "localhost:5000", insecure: true }, {
        host: "registry-1.docker.io",
      }],
      asyncRemove: true,
    }),
    "c.json",
  );
  assert.equal(c.verbose, "debug");
  assert.equal(c.autoRemoveDev, false);
  assert.equal(c.asyncRemove, true);
  assert.equal(c.exporterConfig.enable, true);
  assert.deepEqual(c.mirrorRegistry, [
    { host: "localhost:5000", insecure: true },
    { host: "registry-1.docker.io", insecure: false },
  ]);
});

Deno.test("parseSnapshotterConfig() names the malformed key in one line", () => {
  const cases: [string, RegExp][] = [
    ['{"rwMode": "rw"}', /c\.json: rwMode must be one of overlayfs, dir, dev, got "rw"/],
    ['{"autoRemoveDev": "yes"}', /autoRemoveDev must be a boolean/],
    ['{"mirrorRegistry": {}}', /mirrorRegistry must be an array/],
    ['{"mirrorRegistry": [{"insecure": true}]}', /mirrorRegistry\[0\]\.host must be a non-empty/],
    [
      '{"mirrorRegistry": [{"host": "h", "insecure": 1}]}',
      /mirrorRegistry\[0\]\.insecure must be a boolean/,
    ],
    ['{"exporterConfig": {"port": 70000}}', /exporterConfig\.port must be a TCP port/],
    ['{"tenant": 1.5}', /tenant must be an integer/],
    ['{"turboFsType": ["erofs", 1]}', /turboFsType must be an array of strings/],
    ['{"writableLayerType": "x"}', /writableLayerType must be one of append, sparse/],
    ["[]", /must hold a JSON object/],
    ["{", /is not valid JSON/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseSnapshotterConfig(text, "c.json"), InvalidArgumentError, text);
    assert.throws(() => parseSnapshotterConfig(text, "c.json"), message);
  }
});

Deno.test("readSnapshotterConfig() reads a file and says when a given one is missing", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/c.json`, '{"rwMode": "dev"}');
    assert.equal((await readSnapshotterConfig(`${dir}/c.json`)).rwMode, "dev");
    await assert.rejects(readSnapshotterConfig(`${dir}/none.json`), NotFoundError);
  });
});
