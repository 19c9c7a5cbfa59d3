import assert from "node:assert/strict";
import { privateContainerdConfig } from "../../src/containerd/mod.ts";

Deno.test("privateContainerdConfig() keeps everything in the directory and adds the proxies", () => {
  const toml = privateContainerdConfig("/d", { proxySnapshotters: { overlaybd: "/d/sn.sock" } });
  assert.match(toml, /^root = "\/d\/root"$/m);
  assert.match(toml, /^state = "\/d\/state"$/m);
  assert.match(toml, /^ {2}address = "\/d\/containerd\.sock"$/m);
  assert.match(toml, /^ {2}address = "\/d\/containerd\.sock\.ttrpc"$/m);
  assert.match(toml, /"io\.containerd\.grpc\.v1\.cri"/);
  assert.match(toml, /"io\.containerd\.internal\.v1\.opt"/);
  assert.match(
    toml,
    /\[proxy_plugins\.overlaybd\]\n {2}type = "snapshot"\n {2}address = "\/d\/sn\.sock"/,
  );
});

Deno.test("privateContainerdConfig() logs at info level unless told otherwise", () => {
  assert.match(privateContainerdConfig("/d"), /^ {2}level = "info"$/m);
  assert.match(privateContainerdConfig("/d", { logLevel: "debug" }), /^ {2}level = "debug"$/m);
});

Deno.test("privateContainerdConfig() appends extraConfig last and registers no proxy by default", () => {
  const extra = '[plugins."io.containerd.gc.v1.scheduler"]\n  pause_threshold = 0.5';
  const toml = privateContainerdConfig("/d", { extraConfig: extra });
  assert.ok(toml.endsWith(`${extra}\n`), toml);
  assert.doesNotMatch(toml, /proxy_plugins/);
});
