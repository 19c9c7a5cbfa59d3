import assert from "node:assert/strict";
import {
  leftoverTasks,
  removeContainerdLeftovers,
  removeTaskCgroups,
  shimSocketPath,
} from "../../src/containerd/mod.ts";
import { mountsUnder } from "../../src/device/mod.ts";
import { sha256, withTempDir } from "../_helpers.ts";

const root = Deno.uid() === 0;
const v1Memory = "/sys/fs/cgroup/memory";
const cgroupV1 = (() => {
  try {
    return Deno.statSync(`${v1Memory}/cgroup.procs`).isFile;
  } catch {
    return false;
  }
})();

Deno.test("shimSocketPath() is /run/containerd/s/ + sha256 of ADDRESS/NAMESPACE/ID", async () => {
  const hash = await sha256(new TextEncoder().encode("/d/containerd.sock/ns1/c1"));
  assert.equal(
    await shimSocketPath("/d/containerd.sock", ["ns1", "c1"]),
    `/run/containerd/s/${hash}`,
  );
});

Deno.test("leftoverTasks() lists the task directories of the runtime v2 state", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(await leftoverTasks(`${dir}/state`), []);
    const base = `${dir}/state/io.containerd.runtime.v2.task`;
    await Deno.mkdir(`${base}/ns1/c1`, { recursive: true });
    await Deno.mkdir(`${base}/ns2/c2`, { recursive: true });
    const tasks = await leftoverTasks(`${dir}/state`);
    assert.deepEqual(tasks.sort(), [["ns1", "c1"], ["ns2", "c2"]]);
  });
});

Deno.test({
  name:
    "removeTaskCgroups() kills the processes of a task's cgroup and removes it and its namespace",
  ignore: !root || !cgroupV1,
  fn: async () => {
    const ns = `obd-test-${crypto.randomUUID().slice(0, 8)}`;
    const group = `${v1Memory}/${ns}/c1`;
    await Deno.mkdir(`${group}/nested`, { recursive: true });
    const child = new Deno.Command("sleep", { args: ["600"] }).spawn();
    try {
      await Deno.writeTextFile(`${group}/nested/cgroup.procs`, `${child.pid}\n`);
      await removeTaskCgroups([[ns, "c1"]], [ns]);
      assert.equal((await child.status).signal, "SIGKILL");
      await assert.rejects(Deno.stat(`${v1Memory}/${ns}`), Deno.errors.NotFound);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      for (const d of [`${group}/nested`, group, `${v1Memory}/${ns}`]) {
        await Deno.remove(d).catch(() => {});
      }
    }
  },
});

Deno.test({
  name: "removeTaskCgroups() keeps a namespace cgroup that still holds another container",
  ignore: !root || !cgroupV1,
  fn: async () => {
    const ns = `obd-test-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(`${v1Memory}/${ns}/other`, { recursive: true });
    try {
      await removeTaskCgroups([], [ns]);
      assert.ok((await Deno.stat(`${v1Memory}/${ns}/other`)).isDirectory);
    } finally {
      await Deno.remove(`${v1Memory}/${ns}/other`).catch(() => {});
      await Deno.remove(`${v1Memory}/${ns}`).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "removeContainerdLeftovers() unmounts below the directory and removes leftover shim sockets",
  ignore: !root,
  fn: () =>
    withTempDir(async (dir) => {
      const address = `${dir}/containerd.sock`;
      const ns = `obd-test-${crypto.randomUUID().slice(0, 8)}`;
      await Deno.mkdir(`${dir}/state/io.containerd.runtime.v2.task/${ns}/c1`, { recursive: true });
      const socket = await shimSocketPath(address, [ns, "c1"]);
      await Deno.mkdir("/run/containerd/s", { recursive: true });
      await Deno.writeTextFile(socket, "");
      await Deno.mkdir(`${dir}/root/mnt`, { recursive: true });
      const mount = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "tmpfs", `${dir}/root/mnt`],
      }).output();
      assert.ok(mount.success);
      await removeContainerdLeftovers(dir, address, [ns]);
      assert.deepEqual(await mountsUnder(dir), []);
      await assert.rejects(Deno.stat(socket), Deno.errors.NotFound);
    }),
});
