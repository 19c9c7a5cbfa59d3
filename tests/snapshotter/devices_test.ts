import assert from "node:assert/strict";
import { AlreadyExistsError } from "../../src/errors.ts";
import type { MountSpec } from "../../src/snapshotter/mod.ts";
import { sha256 } from "../_helpers.ts";
import { skipReason } from "../device/_privileges.ts";
import { dropCaches, HELLO_SHA, isMounted } from "../mount/_mounted.ts";
import { mountAll, unmountAll } from "./_mount.ts";
import { CHAIN_ID, loopsUnder, pullLabels, withObdSnapshotter } from "./_overlaybd.ts";

/** Reads stdout of `child` up to the first newline. */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    reader.releaseLock();
  }
  return text.split("\n")[0];
}

async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

Deno.test({
  name:
    "recover() after a snapshotter was killed: stale mounts go, the next Prepare attaches again",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await f.sn.close();
      await f.devices.close();
      const fixture = `${f.tmp}/crash.json`;
      await Deno.writeTextFile(
        fixture,
        JSON.stringify({
          global: f.global,
          config: f.config,
          root: f.root,
          runDir: f.runDir,
          imageRef: f.imageRef,
        }),
      );
      const program = new URL("./_crashing_snapshotter.ts", import.meta.url).pathname;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", program, fixture],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      let killed = false;
      const c1 = await f.target("c1");
      try {
        const mounts = JSON.parse(await firstLine(child)) as MountSpec[];
        // A container runs on the device the child serves.
        await mountAll(mounts, c1);
        assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
        child.kill("SIGKILL");
        killed = true;
        await child.status;
      } finally {
        if (!killed) {
          child.kill("SIGKILL");
          await child.status;
        }
      }
      // Its device died with it.
      await dropCaches();
      await assert.rejects(Deno.readFile(`${c1}/hello`));

      await f.reopen(true);
      const mountpoint = `${f.root}/snapshots/1/block/mountpoint`;
      assert.ok(f.log.some((l) => l.includes("to be attached again")), f.log.join("\n"));
      assert.ok(!(await isMounted(mountpoint)), "the stale mount is gone");
      assert.deepEqual(
        (await Array.fromAsync(f.sn.walk([]))).map((i) => i.name).sort(),
        [CHAIN_ID, "c1"].sort(),
      );
      await assert.rejects(f.sn.prepare("again", "", pullLabels(f.imageRef)), AlreadyExistsError);

      // A new container starts on a freshly attached device.
      const m2 = await f.sn.prepare("c2", CHAIN_ID, {});
      const c2 = await f.target("c2");
      await mountAll(m2, c2);
      assert.equal(await sha256(await Deno.readFile(`${c2}/hello`)), HELLO_SHA);

      // The old container goes, then the new one; nothing is left attached.
      await unmountAll(c1);
      await f.sn.remove("c1");
      await unmountAll(c2);
      await f.sn.remove("c2");
      assert.ok(!(await isMounted(mountpoint)));
      assert.ok(
        await eventually(async () => (await loopsUnder(f.runDir)).length === 0, 3000),
        (await loopsUnder(f.runDir)).join("\n"),
      );
    }),
});

Deno.test({
  name: "attach() twice is a no-op, recover() of a directory with nothing mounted is false",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await assert.rejects(f.sn.prepare("x", "", pullLabels(f.imageRef)), AlreadyExistsError);
      const config = `${f.root}/snapshots/1/block/config.v1.json`;
      const dir = await f.target("dev");
      await f.devices.attach(config, dir);
      await f.devices.attach(config, dir);
      assert.equal(await sha256(await Deno.readFile(`${dir}/hello`)), HELLO_SHA);
      assert.equal((await loopsUnder(f.runDir)).length, 1);
      assert.equal(await f.devices.recover(dir), true);
      assert.ok(f.devices.bytesFetched() > 0);
      await f.devices.detach(dir);
      await f.devices.detach(dir);
      assert.equal(await f.devices.recover(dir), false);
      assert.deepEqual(await loopsUnder(f.runDir), []);
    }),
});

Deno.test({
  name:
    "recover() after a snapshotter with a writable device was killed: its data stays, Mounts attaches again",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await f.sn.close();
      await f.devices.close();
      const fixture = `${f.tmp}/crash.json`;
      const { global, config, root, runDir, imageRef } = f;
      await Deno.writeTextFile(fixture, JSON.stringify({ global, config, root, runDir, imageRef }));
      const program = new URL("./_crashing_snapshotter.ts", import.meta.url).pathname;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", program, fixture],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      let killed = false;
      const c1 = await f.target("c1");
      const mountpoint = `${f.root}/snapshots/2/block/mountpoint`;
      try {
        const mounts = JSON.parse(await firstLine(child)) as MountSpec[];
        assert.deepEqual(mounts, [{ type: "bind", source: mountpoint, options: ["rw", "rbind"] }]);
        await mountAll(mounts, c1);
        await Deno.writeTextFile(`${c1}/synced`, "before the crash\n");
        // What the container synced reached the writable layer's files; the rest may not.
        const sync = await new Deno.Command("sync", { args: ["-f", `${c1}/synced`] }).output();
        assert.ok(sync.success);
        child.kill("SIGKILL");
        killed = true;
        await child.status;
      } finally {
        if (!killed) {
          child.kill("SIGKILL");
          await child.status;
        }
      }

      await f.reopen(true);
      assert.ok(f.log.some((l) => l.includes("to be attached again")), f.log.join("\n"));
      assert.ok(!(await isMounted(mountpoint)), "the stale mount is gone");
      const m = await f.sn.mounts("c1");
      const c2 = await f.target("c2");
      await mountAll(m, c2);
      assert.equal(await Deno.readTextFile(`${c2}/synced`), "before the crash\n");
      assert.equal(await sha256(await Deno.readFile(`${c2}/hello`)), HELLO_SHA);

      // The dead device goes once the old container lets go of it; the new one on remove.
      await unmountAll(c2);
      await new Deno.Command("umount", { args: ["-l", c1] }).output();
      await f.sn.remove("c1");
      assert.ok(
        await eventually(async () => (await loopsUnder(f.runDir)).length === 0, 3000),
        (await loopsUnder(f.runDir)).join("\n"),
      );
    }, { rwMode: "dir" }),
});
