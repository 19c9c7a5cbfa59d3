import assert from "node:assert/strict";
import { withTempDir } from "../_helpers.ts";
import { startRegistry } from "../registry/_registry.ts";
import { OS_RELEASE_LINE, pushBusyboxImage } from "./_busybox_image.ts";
import { containerdConfig, withContainerd } from "./_containerd.ts";
import { leftoverTasks, mountsUnder, shimSocketPath } from "./_teardown.ts";

const root = Deno.uid() === 0;

Deno.test("containerdConfig() disables CRI and registers proxy snapshotters", () => {
  const toml = containerdConfig("/tmp/x", { proxySnapshotters: { overlaybd: "/tmp/x/obd.sock" } });
  assert.match(toml, /^version = 2$/m);
  assert.match(toml, /"io\.containerd\.grpc\.v1\.cri"/);
  assert.match(
    toml,
    /\[proxy_plugins\.overlaybd\]\n {2}type = "snapshot"\n {2}address = "\/tmp\/x\/obd.sock"/,
  );
  assert.match(toml, /address = "\/tmp\/x\/containerd.sock"/);
});

Deno.test({
  name: "withContainerd() registers proxy snapshotters that containerd lists as plugins",
  ignore: !root,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const sock = `${tmp}/nobody-serves.sock`;
      await withContainerd({ proxySnapshotters: { obdtest: sock } }, async (ctd) => {
        const plugins = await ctd.ctr(["plugins", "ls"]);
        assert.match(plugins.stdout, /io\.containerd\.snapshotter\.v1\s+obdtest\s/);
        // List and Stat come from containerd's own metadata; Prepare reaches the proxy.
        const prepare = await ctd.ctr(["snapshots", "--snapshotter", "obdtest", "prepare", "k"]);
        assert.notEqual(prepare.code, 0, "nothing serves the proxy socket");
        assert.match(prepare.stderr, /nobody-serves\.sock/);
      });
    });
  },
});

Deno.test({
  name: "withContainerd() runs a busybox image pulled from a real registry with ctr run --rm",
  ignore: !root,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const registry = await startRegistry(tmp);
      try {
        const { ref } = await pushBusyboxImage(tmp, registry.host);
        let fixtureDir = "";
        await withContainerd({}, async (ctd) => {
          fixtureDir = ctd.dir;
          const pull = await ctd.ctr(["images", "pull", "--plain-http", ref]);
          assert.equal(pull.code, 0, pull.stderr);
          const started = performance.now();
          const run = await ctd.ctr([
            "run",
            "--rm",
            ...ctd.runFlags,
            ref,
            "c1",
            "cat",
            "/etc/os-release",
          ]);
          const ms = performance.now() - started;
          assert.equal(run.code, 0, run.stderr);
          assert.match(run.stdout, new RegExp(`^${OS_RELEASE_LINE}$`, "m"));
          console.log(`ctr run --rm of busybox: ${ms.toFixed(0)} ms`);
          const images = await ctd.ctr(["images", "ls", "-q"]);
          assert.equal(images.stdout.trim(), ref);
        });
        await assert.rejects(Deno.stat(fixtureDir), Deno.errors.NotFound);
      } finally {
        await registry.stop();
      }
    });
  },
});

Deno.test({
  name: "withContainerd() kills a running container and unmounts its rootfs when the test fails",
  ignore: !root,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const registry = await startRegistry(tmp);
      try {
        const { ref } = await pushBusyboxImage(tmp, registry.host);
        let dir = "";
        let namespace = "";
        const failure = new Error("the test failed on purpose");
        await assert.rejects(
          withContainerd({}, async (ctd) => {
            dir = ctd.dir;
            namespace = ctd.namespace;
            assert.equal((await ctd.ctr(["images", "pull", "--plain-http", ref])).code, 0);
            const args = ["run", "--detach", ...ctd.runFlags, ref, "sleeper", "sleep", "600"];
            const run = await ctd.ctr(args);
            assert.equal(run.code, 0, run.stderr);
            assert.ok((await mountsUnder(dir)).length > 0, "the container rootfs is mounted");
            assert.equal((await leftoverTasks(`${dir}/state`)).length, 1);
            throw failure;
          }),
          (err) => err === failure,
        );
        assert.deepEqual(await mountsUnder(dir), []);
        await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
        await assert.rejects(Deno.stat(`/sys/fs/cgroup/memory/${namespace}`), Deno.errors.NotFound);
      } finally {
        await registry.stop();
      }
    });
  },
});

Deno.test({
  name:
    "withContainerd() cleans up shim, container process, cgroups and mounts after containerd was SIGKILLed",
  ignore: !root,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const registry = await startRegistry(tmp);
      try {
        const { ref } = await pushBusyboxImage(tmp, registry.host);
        let dir = "";
        let namespace = "";
        let sleeper = 0;
        let shimSocket = "";
        await withContainerd({}, async (ctd) => {
          dir = ctd.dir;
          namespace = ctd.namespace;
          assert.equal((await ctd.ctr(["images", "pull", "--plain-http", ref])).code, 0);
          const args = ["run", "--detach", ...ctd.runFlags, ref, "s", "sleep", "600"];
          assert.equal((await ctd.ctr(args)).code, 0);
          const tasks = await ctd.ctr(["tasks", "ls"]);
          sleeper = Number(tasks.stdout.split("\n")[1].trim().split(/\s+/)[1]);
          assert.ok(sleeper > 0, tasks.stdout);
          shimSocket = await shimSocketPath(ctd.address, [namespace, "s"]);
          assert.ok((await Deno.stat(shimSocket)).isSocket);
          Deno.kill(await pidOf(`${dir}/config.toml`), "SIGKILL");
        });
        assert.equal(await alive(sleeper), false, "the container's process is gone");
        await assert.rejects(Deno.stat(shimSocket), Deno.errors.NotFound);
        assert.deepEqual(await mountsUnder(dir), []);
        await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
        await assert.rejects(Deno.stat(`/sys/fs/cgroup/memory/${namespace}`), Deno.errors.NotFound);
      } finally {
        await registry.stop();
      }
    });
  },
});

/** The pid of the containerd started with `--config config`. */
async function pidOf(config: string): Promise<number> {
  for await (const e of Deno.readDir("/proc")) {
    const argv = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (argv.split("\0").includes(config)) return Number(e.name);
  }
  throw new Error(`no containerd runs with ${config}`);
}

/** Whether `pid` is a live (not zombie) process. */
async function alive(pid: number): Promise<boolean> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  return status !== "" && !/^State:\s+Z/m.test(status);
}
