import assert from "node:assert/strict";
import { openRepository } from "../../src/registry/mod.ts";
import { runCli, withTempDir } from "../_helpers.ts";
import { HELLO_LAYOUT, pushLayout } from "../registry/_layout.ts";
import { startRegistry } from "../registry/_registry.ts";

/** A registry holding upstream's hello-world layout (`amd64` plain, `amd64-converted` overlaybd). */
async function withHello(fn: (host: string, tmp: string) => Promise<void>): Promise<void> {
  await withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    try {
      const repo = openRepository(`${registry.host}/hello-world`, { plain: true });
      await pushLayout(repo, HELLO_LAYOUT).finally(() => repo.close());
      await fn(registry.host, tmp);
    } finally {
      await registry.stop();
    }
  });
}

Deno.test("rpull says where it looked for containerd when nothing listens there", async () => {
  await withHello(async (host, tmp) => {
    const out = await runCli([
      "rpull",
      "--plain",
      "--address",
      `${tmp}/no-containerd.sock`,
      `${host}/hello-world:amd64-converted`,
    ]);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /no-containerd\.sock/);
    assert.match(out.stderr, /CONTAINERD_ADDRESS/);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
  });
});

Deno.test("rpull refuses a plain OCI image before touching containerd, and says to convert it", async () => {
  await withHello(async (host, tmp) => {
    const out = await runCli([
      "rpull",
      "--plain",
      "--address",
      `${tmp}/no-containerd.sock`,
      `${host}/hello-world:amd64`,
    ]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /not an overlaybd image/);
    assert.match(out.stderr, /obdconv/);
  });
});

Deno.test("rpull honours CONTAINERD_ADDRESS like ctr", async () => {
  await withHello(async (host, tmp) => {
    const main = new URL("../../main.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        main,
        "rpull",
        "--plain",
        `${host}/hello-world:amd64-converted`,
      ],
      env: { CONTAINERD_ADDRESS: `${tmp}/env.sock` },
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(new TextDecoder().decode(out.stderr), /env\.sock/);
  });
});
