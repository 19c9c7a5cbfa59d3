import assert from "node:assert/strict";
import { openPrivateContainerd, type PrivateContainerd } from "../../src/containerd/mod.ts";
import { buildSampleImage } from "../../src/demo/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { UnavailableError } from "../../src/errors.ts";
import { findProgram } from "../../src/process/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { leftoversOf } from "../demo/_leftovers.ts";

const containers = Deno.uid() === 0 && ["containerd", "runc", "ctr"].every((p) => findProgram(p));

/** Cgroups named after `namespace` in any hierarchy (v1) or the v2 tree. */
async function cgroupsOf(namespace: string): Promise<string[]> {
  const out: string[] = [];
  for (
    const root of [
      "/sys/fs/cgroup",
      ...(await Array.fromAsync(Deno.readDir("/sys/fs/cgroup")))
        .filter((e) => e.isDirectory).map((e) => `/sys/fs/cgroup/${e.name}`),
    ]
  ) {
    if (await Deno.stat(`${root}/${namespace}`).catch(() => undefined)) {
      out.push(`${root}/${namespace}`);
    }
  }
  return out;
}

/** Starts a private containerd in `dir` and runs `sleep 600` detached as container c1. */
async function withSleeper(
  dir: string,
  fn: (ctd: PrivateContainerd, namespace: string) => Promise<void>,
): Promise<string> {
  const image = await buildSampleImage(`${dir}/sample`, { dataBytes: 4096 });
  await runTool("tar", ["-cf", `${dir}/image.tar`, "-C", image.layout, "."]);
  const namespace = `obd-test-${crypto.randomUUID().slice(0, 8)}`;
  const ctd = await openPrivateContainerd({ dir: `${dir}/ctd`, proxySnapshotters: {}, namespace });
  try {
    const imported = await ctd.ctr([
      "images",
      "import",
      "--base-name",
      "demo/sample",
      `${dir}/image.tar`,
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    const run = await ctd.ctr([
      "run",
      "-d",
      "--null-io",
      ...ctd.runFlags,
      "demo/sample:latest",
      "c1",
      "sleep",
      "600",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const tasks = await ctd.ctr(["tasks", "ls"]);
    assert.match(tasks.stdout, /c1\s+\d+\s+RUNNING/);
    assert.notDeepEqual(await cgroupsOf(namespace), []);
    await fn(ctd, namespace);
  } finally {
    await ctd.close();
  }
  await ctd.close();
  return namespace;
}

/** SIGKILLs the process whose command line names `needle`. */
async function killProcessNaming(needle: string): Promise<void> {
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const argv = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (argv.startsWith("/usr/bin/containerd\0") && argv.includes(needle)) {
      Deno.kill(Number(e.name), "SIGKILL");
      while (await Deno.stat(`/proc/${e.name}`).catch(() => undefined)) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

Deno.test({
  name: "PrivateContainerd.close() kills a running container and removes all it left",
  ignore: !containers,
  fn: () =>
    withTempDir(async (dir) => {
      const namespace = await withSleeper(dir, async () => {});
      assert.deepEqual(await leftoversOf(dir), []);
      assert.deepEqual(await cgroupsOf(namespace), []);
    }),
});

Deno.test({
  name: "PrivateContainerd.close() removes shim, container and cgroups when containerd died",
  ignore: !containers,
  fn: () =>
    withTempDir(async (dir) => {
      const namespace = await withSleeper(dir, async () => {
        await killProcessNaming(`${dir}/ctd/config.toml`);
      });
      assert.deepEqual(await leftoversOf(dir), []);
      assert.deepEqual(await cgroupsOf(namespace), []);
    }),
});

Deno.test({
  name: "openPrivateContainerd() throws UnavailableError and leaves nothing when containerd exits",
  ignore: !containers,
  fn: () =>
    withTempDir(async (dir) => {
      await assert.rejects(
        openPrivateContainerd({ dir: `${dir}/ctd`, extraConfig: "this is not = = toml" }),
        (err) => err instanceof UnavailableError && /exited/.test(err.message),
      );
      assert.deepEqual(await leftoversOf(dir), []);
    }),
});

Deno.test({
  name: "PrivateContainerd.ctr() uses its own namespace unless given another",
  ignore: !containers,
  fn: () =>
    withTempDir(async (dir) => {
      const ctd = await openPrivateContainerd({ dir: `${dir}/ctd`, namespace: "obd-test-own" });
      try {
        assert.equal((await ctd.ctr(["leases", "create"])).code, 0);
        const other = await ctd.ctr(["leases", "create"], { namespace: "obd-test-other" });
        assert.equal(other.code, 0, other.stderr);
        const namespaces = await ctd.ctr(["namespaces", "ls", "-q"]);
        assert.deepEqual(namespaces.stdout.trim().split("\n").sort(), [
          "obd-test-other",
          "obd-test-own",
        ]);
        const own = await ctd.ctr(["leases", "ls", "-q"]);
        assert.equal(own.stdout.trim().split("\n").length, 1, own.stdout);
      } finally {
        await ctd.close();
      }
      assert.deepEqual(await leftoversOf(dir), []);
    }),
});
