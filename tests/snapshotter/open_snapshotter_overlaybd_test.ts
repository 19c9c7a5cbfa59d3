import assert from "node:assert/strict";
import { AlreadyExistsError, FailedPreconditionError } from "../../src/errors.ts";
import { sha256, vector } from "../_helpers.ts";
import { skipReason } from "../device/_privileges.ts";
import { BLOB_DIGEST, BLOB_SIZE, HELLO_BLOB, HELLO_SHA, isMounted } from "../mount/_mounted.ts";
import { du, mountAll, unmountAll } from "./_mount.ts";
import { CHAIN_ID, loopsUnder, pullLabels, withObdSnapshotter } from "./_overlaybd.ts";

const indexOff = (() => {
  try {
    Deno.statSync("/sys/module/overlay/parameters/index");
    return ["index=off"];
  } catch {
    return [];
  }
})();

/** The filter containerd's metadata layer walks with after a remote AlreadyExists. */
const remoteFilter = (parent: string) =>
  `labels."containerd.io/snapshot.ref"==${CHAIN_ID},parent==${JSON.stringify(parent)}`;

Deno.test({
  name: "prepare() of an overlaybd layer pull commits a remote snapshot and answers AlreadyExists",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      const labels = pullLabels(f.imageRef);
      await assert.rejects(f.sn.prepare("default/1/extract-1", "", labels), AlreadyExistsError);
      const found = await Array.fromAsync(f.sn.walk([remoteFilter("")]));
      assert.equal(found.length, 1);
      const [target] = found;
      assert.equal(target.name, CHAIN_ID);
      assert.equal(target.kind, "committed");
      assert.equal(target.parent, "");
      assert.deepEqual(target.labels, {
        ...labels,
        "containerd.io/snapshot/remote": "remote snapshot",
      });
      await assert.rejects(f.sn.stat("default/1/extract-1"), /does not exist/);

      const configPath = `${f.root}/snapshots/1/block/config.v1.json`;
      assert.deepEqual(JSON.parse(await Deno.readTextFile(configPath)), {
        repoBlobUrl: `http://${f.imageRef.split("/")[0]}/v2/hello-world/blobs`,
        lowers: [{ digest: BLOB_DIGEST, size: BLOB_SIZE, dir: `${f.root}/snapshots/1/fs` }],
        upper: {},
        resultFile: `${f.root}/snapshots/1/block/init-debug.log`,
      });
      assert.equal((await Deno.stat(configPath)).mode! & 0o777, 0o600);
      assert.equal(await Deno.readTextFile(`${f.root}/snapshots/1/image_ref`), f.imageRef);

      // A second pull of the same layer (another namespace) finds the target at once.
      await assert.rejects(f.sn.prepare("other/7/extract", "", labels), AlreadyExistsError);
      assert.equal((await Array.fromAsync(f.sn.walk([]))).length, 1);

      // Usage: fs + block without the mountpoint, as upstream reports it.
      const usage = await f.sn.usage(CHAIN_ID);
      const fs = await du(`${f.root}/snapshots/1/fs`);
      const block = await du(`${f.root}/snapshots/1/block`);
      const mnt = await du(`${f.root}/snapshots/1/block/mountpoint`);
      assert.equal(usage.size, fs.size + block.size - mnt.size);
      assert.equal(usage.inodes, fs.inodes + block.inodes - mnt.inodes);
      assert.ok(usage.size > 0 && usage.size < 64 << 10, `${usage.size} bytes`);
      assert.equal(
        await loopsUnder(f.runDir).then((l) => l.length),
        0,
        "nothing attached by a pull",
      );
    }),
});

Deno.test({
  name: "prepare() of a rootfs on an overlaybd layer mounts the lazy device under a real overlay",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await assert.rejects(f.sn.prepare("x", "", pullLabels(f.imageRef)), AlreadyExistsError);
      const s = `${f.root}/snapshots`;
      const mountpoint = `${s}/1/block/mountpoint`;
      const m = await f.sn.prepare("default/2/c1", CHAIN_ID, {});
      assert.deepEqual(m, [{
        type: "overlay",
        source: "overlay",
        options: [
          ...indexOff,
          `workdir=${s}/2/work`,
          `upperdir=${s}/2/fs`,
          `lowerdir=${mountpoint}`,
        ],
      }]);
      assert.ok(await isMounted(mountpoint), "the device is attached and mounted");
      assert.equal((await loopsUnder(f.runDir)).length, 1);
      const c1 = await f.target("c1");
      await mountAll(m, c1);
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
      await Deno.writeTextFile(`${c1}/written`, "by the container");
      assert.equal(await Deno.readTextFile(`${s}/2/fs/written`), "by the container");
      assert.ok((await f.sn.usage("default/2/c1")).size >= 4096);

      // More users share the one device.
      const m2 = await f.sn.prepare("default/3/c2", CHAIN_ID, {});
      const v = await f.sn.view("default/4/v", CHAIN_ID, {});
      assert.deepEqual(v, [{ type: "bind", source: mountpoint, options: ["ro", "rbind"] }]);
      assert.deepEqual(await f.sn.mounts("default/3/c2"), m2);
      const vm = await f.target("v");
      await mountAll(v, vm);
      assert.equal(await sha256(await Deno.readFile(`${vm}/hello`)), HELLO_SHA);
      await unmountAll(vm);
      assert.equal((await loopsUnder(f.runDir)).length, 1);

      // The image cannot go while containers use it; its device stays for the others.
      await assert.rejects(f.sn.remove(CHAIN_ID), FailedPreconditionError);
      await f.sn.remove("default/3/c2");
      await f.sn.remove("default/4/v");
      assert.ok(await isMounted(mountpoint));

      // c1's row goes, but its overlay is still mounted: the device must stay.
      await f.sn.remove("default/2/c1");
      assert.ok(await isMounted(mountpoint), "kept while an overlay uses it");
      await assert.rejects(f.sn.remove(CHAIN_ID), FailedPreconditionError);
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
      await unmountAll(c1);
      await f.sn.cleanup();
      assert.ok(!(await isMounted(mountpoint)), "detached once no one uses it");
      assert.deepEqual(await loopsUnder(f.runDir), []);

      await f.sn.remove(CHAIN_ID);
      assert.deepEqual(await Array.fromAsync(f.sn.walk([])), []);
      await assert.rejects(Deno.stat(`${s}/1`), Deno.errors.NotFound);
    }),
});

Deno.test({
  name: "remove() of the last container detaches the device: no loop device or mount left",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await assert.rejects(f.sn.prepare("x", "", pullLabels(f.imageRef)), AlreadyExistsError);
      const mountpoint = `${f.root}/snapshots/1/block/mountpoint`;
      const m = await f.sn.prepare("c1", CHAIN_ID, {});
      const c1 = await f.target("c1");
      await mountAll(m, c1);
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
      await unmountAll(c1);
      await f.sn.remove("c1");
      assert.ok(!(await isMounted(mountpoint)));
      assert.deepEqual(await loopsUnder(f.runDir), []);
      const mounts = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n");
      assert.deepEqual(mounts.filter((l) => l.includes(f.root)), []);
      // The next container attaches it again.
      const again = await f.sn.prepare("c2", CHAIN_ID, {});
      await mountAll(again, c1);
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
    }),
});

Deno.test({
  name: "openSnapshotter() after a restart keeps snapshots and attaches devices again on demand",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await assert.rejects(f.sn.prepare("x", "", pullLabels(f.imageRef)), AlreadyExistsError);
      const mountpoint = `${f.root}/snapshots/1/block/mountpoint`;
      const m = await f.sn.prepare("c1", CHAIN_ID, {});
      const before = await Array.fromAsync(f.sn.walk([]));

      // Same process, same devices: the device is still attached and recognised.
      await f.reopen();
      assert.deepEqual(await Array.fromAsync(f.sn.walk([])), before);
      assert.deepEqual(await f.sn.mounts("c1"), m);
      assert.equal((await loopsUnder(f.runDir)).length, 1);

      // New devices (as after a restart): the old mount is gone; Mounts attaches again.
      await f.reopen(true);
      assert.ok(!(await isMounted(mountpoint)));
      assert.deepEqual(await Array.fromAsync(f.sn.walk([])), before);
      assert.deepEqual(await f.sn.mounts("c1"), m);
      assert.ok(await isMounted(mountpoint));
      const c1 = await f.target("c1");
      await mountAll(m, c1);
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
      await unmountAll(c1);
      await f.sn.remove("c1");
      assert.deepEqual(await loopsUnder(f.runDir), []);
    }),
});

Deno.test({
  name:
    "commit() of a downloaded overlaybd blob makes a local overlaybd layer that mounts without a registry",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      const labels = {
        ...pullLabels(f.imageRef),
        "containerd.io/snapshot/overlaybd/download-remote-blob": "download",
      };
      const s = `${f.root}/snapshots`;
      const m = await f.sn.prepare("extract", "", labels);
      assert.deepEqual(m, [{ type: "bind", source: `${s}/1/fs`, options: ["rw", "rbind"] }]);
      // containerd unpacks the blob (a one-file tar) into the bind mount.
      const dir = await f.target("extract");
      await mountAll(m, dir);
      const tar = await new Deno.Command("tar", {
        args: ["-xf", vector(HELLO_BLOB), "-C", dir],
      }).output();
      assert.ok(tar.success);
      await unmountAll(dir);
      await f.sn.commit(CHAIN_ID, "extract", labels);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(`${s}/1/block/config.v1.json`)), {
        repoBlobUrl: "",
        lowers: [{ dir: `${s}/1/fs` }],
        upper: {},
        resultFile: `${s}/1/block/init-debug.log`,
      });
      const u = await f.sn.usage(CHAIN_ID);
      assert.ok(u.size >= 600_000, `${u.size}`);

      const c1 = await f.target("c1");
      await mountAll(await f.sn.prepare("c1", CHAIN_ID, {}), c1);
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
      assert.equal(f.devices.bytesFetched(), 0, "read from the local layer file");
    }),
});

Deno.test({
  name:
    "prepare() of a second overlaybd layer stacks it on its parent's lowers; a trace layer is unpacked on top",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await assert.rejects(f.sn.prepare("e1", "", pullLabels(f.imageRef)), AlreadyExistsError);
      // The same blob again as an upper layer: the device shows the same files.
      const chain2 = "sha256:" + "2".repeat(64);
      const labels2 = { ...pullLabels(f.imageRef), "containerd.io/snapshot.ref": chain2 };
      await assert.rejects(f.sn.prepare("e2", CHAIN_ID, labels2), AlreadyExistsError);
      const filter2 = remoteFilter(CHAIN_ID).replace(CHAIN_ID, chain2);
      assert.deepEqual((await Array.fromAsync(f.sn.walk([filter2]))).map((i) => i.name), [chain2]);
      const s = `${f.root}/snapshots`;
      const lower = (id: number) => ({
        digest: BLOB_DIGEST,
        size: BLOB_SIZE,
        dir: `${s}/${id}/fs`,
      });
      const config = async (id: number) =>
        JSON.parse(await Deno.readTextFile(`${s}/${id}/block/config.v1.json`));
      assert.deepEqual((await config(2)).lowers, [lower(1), lower(2)]);

      // Spec §8.6: the acceleration layer is unpacked like a plain layer, never read lazily.
      const chain3 = "sha256:" + "3".repeat(64);
      const labels3 = {
        ...pullLabels(f.imageRef),
        "containerd.io/snapshot.ref": chain3,
        "containerd.io/snapshot/overlaybd/acceleration-layer": "yes",
      };
      const unpack = await f.sn.prepare("e3", chain2, labels3);
      assert.equal(unpack.length, 1);
      assert.equal(unpack[0].type, "bind");
      assert.equal(unpack[0].source, `${s}/3/fs`);
      await Deno.writeTextFile(`${unpack[0].source}/trace`, "/hello\n");
      await f.sn.commit(chain3, "e3", labels3);
      assert.deepEqual(await config(3), {
        repoBlobUrl: `http://${f.imageRef.split("/")[0]}/v2/hello-world/blobs`,
        lowers: [lower(1), lower(2), { dir: `${s}/3/fs` }],
        upper: {},
        resultFile: `${s}/3/block/init-debug.log`,
        accelerationLayer: true,
      });

      const c1 = await f.target("c1");
      await mountAll(await f.sn.prepare("c1", chain3, {}), c1);
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);
    }),
});

Deno.test({
  name: "concurrent pulls commit one target and concurrent containers share one device",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      const pulls = await Promise.allSettled(
        [1, 2, 3, 4].map((i) => f.sn.prepare(`pull-${i}`, "", pullLabels(f.imageRef))),
      );
      for (const p of pulls) {
        assert.ok(
          p.status === "rejected" && p.reason instanceof AlreadyExistsError,
          String((p as PromiseRejectedResult).reason?.stack),
        );
      }
      assert.deepEqual((await Array.fromAsync(f.sn.walk([]))).map((i) => i.name), [CHAIN_ID]);
      const dirs = await Array.fromAsync(Deno.readDir(`${f.root}/snapshots`));
      assert.equal(dirs.length, 1, dirs.map((d) => d.name).join(" "));

      const keys = ["c1", "c2", "c3", "c4"];
      const mounts = await Promise.all(keys.map((k) => f.sn.prepare(k, CHAIN_ID, {})));
      assert.equal(mounts.length, 4);
      assert.equal((await loopsUnder(f.runDir)).length, 1);
      await Promise.all(keys.map((k) => f.sn.remove(k)));
      assert.deepEqual(await loopsUnder(f.runDir), []);
      // And again, interleaving attach and detach.
      await Promise.all([
        f.sn.prepare("d1", CHAIN_ID, {}).then(() => f.sn.remove("d1")),
        f.sn.prepare("d2", CHAIN_ID, {}),
      ]);
      assert.equal((await loopsUnder(f.runDir)).length, 1);
      const d2 = await f.target("d2");
      await mountAll(await f.sn.mounts("d2"), d2);
      assert.equal(await sha256(await Deno.readFile(`${d2}/hello`)), HELLO_SHA);
    }),
});
