import assert from "node:assert/strict";
import { FailedPreconditionError, InvalidArgumentError } from "../../src/errors.ts";
import { inspectFile } from "../../src/layer/mod.ts";
import { snapshotLabels } from "../../src/snapshotter/mod.ts";
import {
  requestedRwMode,
  writableMounts,
  writableVsizeGiB,
} from "../../src/snapshotter/writable_layer.ts";
import { sha256 } from "../_helpers.ts";
import { skipReason } from "../device/_privileges.ts";
import { BLOB_DIGEST, BLOB_SIZE, HELLO_SHA, isMounted } from "../mount/_mounted.ts";
import { mountAll, unmountAll } from "./_mount.ts";
import {
  CHAIN_ID,
  loopsUnder,
  type ObdFixture,
  pullLabels,
  withObdSnapshotter,
} from "./_overlaybd.ts";

const { WRITABLE, VSIZE, LOCAL_COMMIT_PATH } = snapshotLabels;

Deno.test("requestedRwMode() takes the writable label over the config, and refuses others", () => {
  assert.equal(requestedRwMode({}, "overlayfs"), "overlayfs");
  assert.equal(requestedRwMode({}, "dir"), "dir");
  assert.equal(requestedRwMode({ [WRITABLE]: "dev" }, "overlayfs"), "dev");
  assert.equal(requestedRwMode({ [WRITABLE]: "overlayfs" }, "dir"), "overlayfs");
  assert.throws(() => requestedRwMode({ [WRITABLE]: "rw" }, "dir"), InvalidArgumentError);
});

Deno.test("writableVsizeGiB() is 64 without a parent, inherited with one, or the label", () => {
  assert.equal(writableVsizeGiB({}, false), 64);
  assert.equal(writableVsizeGiB({}, true), 0);
  assert.equal(writableVsizeGiB({ [VSIZE]: "8" }, false), 8);
  for (const bad of ["0", "-1", "1.5", "8G", "99999999999"]) {
    assert.throws(() => writableVsizeGiB({ [VSIZE]: bad }, false), InvalidArgumentError, bad);
  }
});

Deno.test("writableMounts() binds the mounted filesystem (dir) or hands out the device (dev)", () => {
  assert.deepEqual(writableMounts("dir", "/s/2/block/mountpoint", "/dev/loop3"), [
    { type: "bind", source: "/s/2/block/mountpoint", options: ["rw", "rbind"] },
  ]);
  assert.deepEqual(writableMounts("dev", "/s/2/block/mountpoint", "/dev/loop3"), [
    { type: "ext4", source: "/dev/loop3", options: ["rw", "discard"] },
  ]);
});

async function pull(f: ObdFixture): Promise<void> {
  await assert.rejects(f.sn.prepare("pull", "", pullLabels(f.imageRef)));
}

async function fsck(device: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("e2fsck", { args: ["-fn", device], stdout: "piped" }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) };
}

for (const type of ["append", "sparse"] as const) {
  Deno.test({
    name:
      `prepare() in rwMode dir (${type}) binds a writable device; commit() seals it; children see its files`,
    ignore: skipReason !== undefined,
    fn: () =>
      withObdSnapshotter(async (f) => {
        await pull(f);
        const s = `${f.root}/snapshots`;
        const m = await f.sn.prepare("c1", CHAIN_ID, {});
        assert.deepEqual(m, [
          { type: "bind", source: `${s}/2/block/mountpoint`, options: ["rw", "rbind"] },
        ]);
        assert.deepEqual(JSON.parse(await Deno.readTextFile(`${s}/2/block/config.v1.json`)), {
          repoBlobUrl: `http://${f.imageRef.split("/")[0]}/v2/hello-world/blobs`,
          lowers: [{ digest: BLOB_DIGEST, size: BLOB_SIZE, dir: `${s}/1/fs` }],
          upper: { index: `${s}/2/block/writable_index`, data: `${s}/2/block/writable_data` },
          resultFile: `${s}/2/block/init-debug.log`,
        });
        assert.ok(await isMounted(`${s}/2/block/mountpoint`));
        assert.ok(
          !(await isMounted(`${s}/1/block/mountpoint`)),
          "the image's device is not needed",
        );
        assert.equal((await loopsUnder(f.runDir)).length, 1);

        const c1 = await f.target("c1");
        await mountAll(m, c1);
        assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
        await Deno.writeTextFile(`${c1}/written`, "by the container\n");
        await Deno.remove(`${c1}/hello`);
        assert.ok((await f.sn.usage("c1")).size > 0);
        // containerd unmounts before it commits; a bind still in place keeps the device.
        await assert.rejects(f.sn.commit("layer-2", "c1", {}), FailedPreconditionError);
        await unmountAll(c1);

        await f.sn.commit("layer-2", "c1", { keep: "this" });
        const sealed = `${s}/2/fs/overlaybd.sealed`;
        const info = await f.sn.stat("layer-2");
        assert.deepEqual(info.labels, { keep: "this", [LOCAL_COMMIT_PATH]: sealed });
        assert.deepEqual((await inspectFile(sealed)).chain, ["lsmt sealed"]);
        const left = await Array.fromAsync(Deno.readDir(`${s}/2/block`), (e) => e.name);
        assert.deepEqual(left.sort(), ["config.v1.json", "init-debug.log", "mountpoint"]);
        assert.deepEqual(JSON.parse(await Deno.readTextFile(`${s}/2/block/config.v1.json`)), {
          repoBlobUrl: `http://${f.imageRef.split("/")[0]}/v2/hello-world/blobs`,
          lowers: [{ digest: BLOB_DIGEST, size: BLOB_SIZE, dir: `${s}/1/fs` }, {
            dir: `${s}/2/fs`,
          }],
          upper: {},
          resultFile: `${s}/2/block/init-debug.log`,
        });
        assert.deepEqual(await loopsUnder(f.runDir), []);
        // Allocated blocks: a sparse layer's file is as long as its device.
        const blocks = (await Deno.stat(sealed)).blocks! * 512;
        assert.ok((await f.sn.usage("layer-2")).size >= blocks, `${blocks}`);

        // An overlayfs child reads the sealed layer through the read-only device.
        const c2 = await f.target("c2");
        const m2 = await f.sn.prepare("c2", "layer-2", { [WRITABLE]: "overlayfs" });
        assert.equal(m2[0].type, "overlay");
        await mountAll(m2, c2);
        assert.equal(await Deno.readTextFile(`${c2}/written`), "by the container\n");
        await assert.rejects(Deno.stat(`${c2}/hello`), Deno.errors.NotFound);
        // And a writable child stacks it as a lower of its own device.
        const c3 = await f.target("c3");
        await mountAll(await f.sn.prepare("c3", "layer-2", {}), c3);
        assert.equal(await Deno.readTextFile(`${c3}/written`), "by the container\n");
        assert.equal((await loopsUnder(f.runDir)).length, 2);

        await unmountAll(c2);
        await unmountAll(c3);
        await f.sn.remove("c2");
        await f.sn.remove("c3");
        assert.deepEqual(await loopsUnder(f.runDir), []);
      }, { rwMode: "dir", writableLayerType: type }),
  });
}

Deno.test({
  name:
    "prepare() in rwMode dev without parent formats a device for containerd to mount; e2fsck finds it clean",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      const s = `${f.root}/snapshots`;
      const m = await f.sn.prepare("d1", "", { [VSIZE]: "2" });
      assert.equal(m.length, 1);
      const [dev] = m;
      assert.equal(dev.type, "ext4");
      assert.match(dev.source, /^\/dev\/loop\d+$/);
      assert.deepEqual(dev.options, ["rw", "discard"]);
      assert.ok(!(await isMounted(`${s}/1/block/mountpoint`)), "containerd mounts it, not we");
      assert.deepEqual(await f.sn.mounts("d1"), m);
      const config = JSON.parse(await Deno.readTextFile(`${s}/1/block/config.v1.json`));
      assert.deepEqual(config.lowers, []);
      assert.equal(config.upper.vsize, 2);

      const d1 = await f.target("d1");
      await mountAll(m, d1);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(d1), (e) => e.name), ["lost+found"]);
      const big = crypto.getRandomValues(new Uint8Array(65536)).map((b, i) => b ^ i);
      await Deno.writeFile(`${d1}/big`, big);
      await Deno.mkdir(`${d1}/etc`);
      await Deno.writeTextFile(`${d1}/etc/os-release`, "NAME=scratch\n");
      await assert.rejects(f.sn.remove("d1"), FailedPreconditionError);
      await unmountAll(d1);
      const checked = await fsck(dev.source);
      assert.equal(checked.code, 0, checked.out);

      await f.sn.commit("base", "d1", {});
      assert.deepEqual(await loopsUnder(f.runDir), []);
      const v = await f.sn.view("v", "base", {});
      assert.deepEqual(v, [{
        type: "bind",
        source: `${s}/1/block/mountpoint`,
        options: ["ro", "rbind"],
      }]);
      const vm = await f.target("v");
      await mountAll(v, vm);
      assert.deepEqual(await Deno.readFile(`${vm}/big`), big);
      assert.equal(await Deno.readTextFile(`${vm}/etc/os-release`), "NAME=scratch\n");
      await unmountAll(vm);
      await f.sn.remove("v");
      assert.deepEqual(await loopsUnder(f.runDir), []);
    }, { rwMode: "dev" }),
});

Deno.test({
  name:
    "prepare() with the writable label overrides rwMode overlayfs; plain parents stay overlayfs",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await pull(f);
      const s = `${f.root}/snapshots`;
      const m = await f.sn.prepare("c1", CHAIN_ID, { [WRITABLE]: "dir" });
      assert.deepEqual(m, [
        { type: "bind", source: `${s}/2/block/mountpoint`, options: ["rw", "rbind"] },
      ]);
      await assert.rejects(
        f.sn.prepare("bad", CHAIN_ID, { [WRITABLE]: "rw" }),
        InvalidArgumentError,
      );
      // A plain layer (unpacked by containerd) as parent: overlayfs whatever the label says.
      await f.sn.prepare("extract", "", { "containerd.io/snapshot.ref": "plain" });
      await f.sn.commit("plain", "extract", {});
      const p = await f.sn.prepare("c2", "plain", { [WRITABLE]: "dir" });
      assert.equal(p[0].type, "overlay");
      assert.ok(p[0].options.includes(`lowerdir=${s}/3/fs`), p[0].options.join(","));
      await f.sn.remove("c1");
      assert.deepEqual(await loopsUnder(f.runDir), []);
      const entries = await Array.fromAsync(Deno.readDir(s), (e) => e.name);
      assert.ok(!entries.includes("2"), "removed with its writable layer");
    }),
});

Deno.test({
  name:
    "openSnapshotter() after a restart attaches a writable device again on Mounts with its data",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await pull(f);
      const m = await f.sn.prepare("c1", CHAIN_ID, {});
      const c1 = await f.target("c1");
      await mountAll(m, c1);
      await Deno.writeTextFile(`${c1}/kept`, "across restarts\n");
      await unmountAll(c1);

      await f.reopen(true);
      const mountpoint = `${f.root}/snapshots/2/block/mountpoint`;
      assert.ok(!(await isMounted(mountpoint)));
      assert.deepEqual(await f.sn.mounts("c1"), m);
      await mountAll(m, c1);
      assert.equal(await Deno.readTextFile(`${c1}/kept`), "across restarts\n");
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
      await unmountAll(c1);
      await f.sn.remove("c1");
      assert.deepEqual(await loopsUnder(f.runDir), []);
    }, { rwMode: "dir" }),
});
