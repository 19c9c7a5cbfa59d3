import assert from "node:assert/strict";
import { openRepository, parseReference, resolveImage } from "../../src/registry/mod.ts";
import { runCli, withTempDir } from "../_helpers.ts";
import { OS_RELEASE_LINE, pushBusyboxImage } from "../containerd/_busybox_image.ts";
import { type ContainerdFixture, withContainerd } from "../containerd/_containerd.ts";
import { cachedBytes } from "../mount/_mounted.ts";
import { startRegistry } from "../registry/_registry.ts";
import {
  type SnapshotterDaemon,
  type SnapshotterDaemonOptions,
  withSnapshotterDaemon,
} from "./_snapshotter_daemon.ts";

const root = Deno.uid() === 0;
/** Incompressible bytes in the image that no container here reads. */
const BALLAST = 48 << 20;

interface Scene {
  plainRef: string;
  obdRef: string;
  /** Bytes of the overlaybd image's layer blobs. */
  obdBytes: number;
  daemon: SnapshotterDaemon;
  ctd: ContainerdFixture;
}

/**
 * A registry with a busybox image (plain) and its overlaybd conversion, our
 * snapshotter (its config file given `daemonConfig` too), and containerd
 * using it as the proxy snapshotter `overlaybd`.
 */
async function withScene(
  fn: (scene: Scene) => Promise<void>,
  daemonConfig: SnapshotterDaemonOptions["config"] = {},
): Promise<void> {
  await withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    try {
      const { ref: plainRef } = await pushBusyboxImage(tmp, registry.host, "busybox", "plain", {
        ballastBytes: BALLAST,
      });
      const obdRef = `${registry.host}/busybox:obd`;
      const conv = await runCli(["obdconv", "--plain", "--no-dedup", plainRef, obdRef]);
      assert.equal(conv.code, 0, conv.stderr);
      const repo = openRepository(parseReference(obdRef), { plain: true });
      const { manifest } = await resolveImage(repo, "obd").finally(() => repo.close());
      const obdBytes = manifest.layers.reduce((n, l) => n + l.size, 0);

      const options = { insecureHosts: [registry.host], config: daemonConfig };
      await withSnapshotterDaemon(tmp, options, async (daemon) => {
        await withContainerd(
          { proxySnapshotters: { overlaybd: daemon.address } },
          (ctd) => fn({ plainRef, obdRef, obdBytes, daemon, ctd }),
        );
      });
    } finally {
      await registry.stop();
    }
  });
}

async function rpull(scene: Scene): Promise<void> {
  const { ctd, obdRef } = scene;
  const out = await runCli([
    "rpull",
    "--plain",
    "--address",
    ctd.address,
    "--namespace",
    ctd.namespace,
    obdRef,
  ]);
  assert.equal(out.code, 0, out.stderr);
}

function ctrRun(ctd: ContainerdFixture, ref: string, id: string, cmd: string[], detach = false) {
  return ctd.ctr([
    "run",
    // A detached task gets no stdio: ctr exits at once and must not take the task's pipes along.
    ...(detach ? ["-d", "--null-io"] : ["--rm"]),
    ...ctd.runFlags,
    "--snapshotter",
    "overlaybd",
    ref,
    id,
    ...cmd,
  ]);
}

async function snapshotList(ctd: ContainerdFixture): Promise<string> {
  const out = await ctd.ctr(["snapshots", "--snapshotter", "overlaybd", "ls"]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.split("\n").sort().join("\n");
}

/**
 * Retries `fn` for up to 30 s: containerd redials a proxy snapshotter that
 * went away with gRPC's connection backoff and fails calls meanwhile.
 */
async function afterReconnect<T>(fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until || !/connection refused|unavailable/i.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

Deno.test({
  name: "rpull then ctr run starts an overlaybd image reading a small part of it",
  ignore: !root,
  fn: () =>
    withScene(async (scene) => {
      const { ctd, obdRef, obdBytes, daemon } = scene;
      await rpull(scene);
      assert.equal(await cachedBytes(daemon.cacheDir).catch(() => 0), 0, "rpull fetched layers");

      const started = performance.now();
      const run = await ctrRun(ctd, obdRef, "c1", ["cat", "/etc/os-release"]);
      const ms = performance.now() - started;
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(OS_RELEASE_LINE));

      const fetched = await cachedBytes(daemon.cacheDir);
      assert.ok(fetched > 0, "the container read nothing through the cache");
      assert.ok(
        fetched < obdBytes / 10,
        `fetched ${fetched} bytes of a ${obdBytes}-byte image: not lazy`,
      );
      console.log(
        `ctr run (cold): ${ms.toFixed(0)} ms, cache holds ${fetched} of ${obdBytes} bytes`,
      );
    }),
});

Deno.test({
  name: "a plain OCI image pulled by ctr runs through the overlaybd snapshotter on overlayfs",
  ignore: !root,
  fn: () =>
    withScene(async ({ ctd, plainRef }) => {
      const pull = await ctd.ctr([
        "image",
        "pull",
        "--plain-http",
        "--snapshotter",
        "overlaybd",
        plainRef,
      ]);
      assert.equal(pull.code, 0, pull.stderr);
      const run = await ctrRun(ctd, plainRef, "p1", ["cat", "/etc/os-release"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(OS_RELEASE_LINE));
      assert.match(await snapshotList(ctd), /Committed/);
    }),
});

Deno.test({
  name:
    "snapshotter killed with SIGKILL while a container runs: restart keeps state, new containers start",
  ignore: !root,
  fn: () =>
    withScene(async (scene) => {
      const { ctd, obdRef, daemon } = scene;
      await rpull(scene);
      const bg = await ctrRun(ctd, obdRef, "c2", ["sleep", "600"], true);
      assert.equal(bg.code, 0, bg.stderr);
      // Up means past its start: a process still paging in its binary when the
      // snapshotter dies gets SIGBUS, since the device's server is gone.
      const probe = await ctd.ctr([
        "tasks",
        "exec",
        "--exec-id",
        "probe",
        "c2",
        "cat",
        "/etc/os-release",
      ]);
      assert.equal(probe.code, 0, probe.stderr);
      const before = await snapshotList(ctd);

      await daemon.kill();
      await daemon.restart();

      assert.equal(await afterReconnect(() => snapshotList(ctd)), before);
      const run = await ctrRun(ctd, obdRef, "c3", ["cat", "/etc/os-release"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(OS_RELEASE_LINE));

      const kill = await ctd.ctr(["tasks", "kill", "-s", "SIGKILL", "c2"]);
      assert.equal(kill.code, 0, kill.stderr);
      const exited = Date.now() + 10_000;
      while ((await ctd.ctr(["tasks", "delete", "c2"])).code !== 0 && Date.now() < exited) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const rm = await ctd.ctr(["containers", "rm", "c2"]);
      assert.equal(rm.code, 0, rm.stderr);
    }),
});

/** Loop devices attached to files below `dir`. */
async function loopsBelow(dir: string): Promise<string[]> {
  const out = await new Deno.Command("losetup", { args: ["-a"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.includes(dir));
}

/** Snapshots of the daemon that have a native writable layer, with its mode. */
async function writableSnapshots(daemon: SnapshotterDaemon): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(`${daemon.root}/snapshots`)) {
    const mode = await Deno.readTextFile(`${daemon.root}/snapshots/${e.name}/block/rw_mode`)
      .catch(() => undefined);
    if (mode) out[e.name] = mode.trim();
  }
  return out;
}

/**
 * Waits until no snapshot of the daemon has a writable layer: containerd's
 * GC removes a deleted container's snapshot from the snapshotter shortly
 * after `ctr` returns.
 */
async function writableLayersGone(daemon: SnapshotterDaemon): Promise<Record<string, string>> {
  const until = Date.now() + 15_000;
  while (Object.keys(await writableSnapshots(daemon)).length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
  }
  return await writableSnapshots(daemon);
}

/** Filesystem type and source of the mount on `dir`, from this process's mount table. */
async function mountOf(dir: string): Promise<{ fsType: string; source: string } | undefined> {
  const lines = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n");
  const f = lines.map((l) => l.split(" ")).findLast((f) => f[4] === dir);
  if (!f) return undefined;
  const dash = f.indexOf("-", 6);
  return { fsType: f[dash + 1], source: f[dash + 2] };
}

for (const rwMode of ["dir", "dev"]) {
  Deno.test({
    name: `rpull then ctr run with rwMode ${rwMode} writes to the container's own writable layer`,
    ignore: !root,
    fn: () =>
      withScene(async (scene) => {
        const { ctd, obdRef, obdBytes, daemon } = scene;
        await rpull(scene);
        const started = performance.now();
        const run = await ctrRun(ctd, obdRef, "w1", [
          "sh",
          "-c",
          "echo x > /f && cat /f /etc/os-release",
        ]);
        const ms = performance.now() - started;
        assert.equal(run.code, 0, run.stderr);
        console.log(`ctr run --rm (cold, rwMode ${rwMode}): ${ms.toFixed(0)} ms`);
        assert.deepEqual(await writableLayersGone(daemon), {}, "--rm removed its layer");
        assert.match(run.stdout, new RegExp(`^x\\n[^]*${OS_RELEASE_LINE}`));

        // A running container: its root is its own writable device.
        const bg = await ctrRun(ctd, obdRef, "w2", ["sleep", "600"], true);
        assert.equal(bg.code, 0, bg.stderr);
        const rw = await writableSnapshots(daemon);
        assert.deepEqual(Object.values(rw), [rwMode]);
        const id = Object.keys(rw)[0];
        const mountpoint = `${daemon.root}/snapshots/${id}/block/mountpoint`;
        if (rwMode === "dir") assert.equal((await mountOf(mountpoint))?.fsType, "ext4");
        else assert.equal(await mountOf(mountpoint), undefined, "containerd mounts the device");
        assert.equal((await loopsBelow(daemon.root)).length, 1, "no read-only device besides");
        const exec = await ctd.ctr([
          "tasks",
          "exec",
          "--exec-id",
          "w",
          "w2",
          "sh",
          "-c",
          "echo y > /g && cat /g && grep -c . /etc/os-release",
        ]);
        assert.equal(exec.code, 0, exec.stderr);
        assert.match(exec.stdout, /^y\n\d+\n$/);
        const written = await Deno.stat(`${daemon.root}/snapshots/${id}/block/writable_data`);
        assert.ok(written.size > 4096, `${written.size} bytes in the writable layer`);

        const kill = await ctd.ctr(["tasks", "kill", "-s", "SIGKILL", "w2"]);
        assert.equal(kill.code, 0, kill.stderr);
        const until = Date.now() + 10_000;
        while ((await ctd.ctr(["tasks", "delete", "w2"])).code !== 0 && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const rm = await ctd.ctr(["containers", "rm", "w2"]);
        assert.equal(rm.code, 0, rm.stderr);
        // Its snapshot and device go too; only the image's layers remain.
        assert.doesNotMatch(await snapshotList(ctd), /Active/);
        assert.deepEqual(await writableLayersGone(daemon), {});
        assert.deepEqual(await loopsBelow(daemon.root), []);
        const fetched = await cachedBytes(daemon.cacheDir);
        assert.ok(fetched < obdBytes / 10, `fetched ${fetched} of ${obdBytes} bytes: not lazy`);
      }, { rwMode }),
  });
}
