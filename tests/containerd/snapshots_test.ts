import assert from "node:assert/strict";
import { type Mount, SnapshotKind } from "../../src/containerd/mod.ts";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
  UnsupportedError,
} from "../../src/errors.ts";
import { canRunContainerd, withClient } from "./_client.ts";

/** The directory a snapshot's mounts write to, without mounting anything. */
function upperDir(mounts: Mount[]): string {
  const m = mounts[0];
  if (m.type === "bind") return m.source;
  const upper = m.options.find((o) => o.startsWith("upperdir="));
  assert.ok(upper, JSON.stringify(m));
  return upper.slice("upperdir=".length);
}

async function names(list: AsyncIterable<{ name: string }>): Promise<string[]> {
  const out = [];
  for await (const info of list) out.push(info.name);
  return out.sort();
}

for (const snapshotter of ["native", "overlayfs"]) {
  Deno.test({
    name:
      `snapshots(${snapshotter}) prepare/commit/stat/list/update/view/usage/remove follow containerd`,
    ignore: !canRunContainerd,
    fn: async () => {
      await withClient(async ({ leased, ctd }) => {
        const s = leased.snapshots(snapshotter);
        const work = await s.prepare("work-1", "", { stage: "extract" });
        assert.equal(work.length, 1);
        await Deno.writeTextFile(`${upperDir(work)}/hello`, "hello from the base layer\n");
        assert.deepEqual(await s.mounts("work-1"), work);
        await s.commit("base", "work-1", { layer: "0" });
        await assert.rejects(s.stat("work-1"), NotFoundError);

        const base = await s.stat("base");
        assert.equal(base.kind, SnapshotKind.COMMITTED);
        assert.equal(base.parent, "");
        assert.deepEqual(base.labels, { layer: "0" });
        const usage = await s.usage("base");
        assert.ok(usage.size > 0n, `usage ${usage.size}`);
        assert.ok(usage.inodes >= 1n);

        const child = await s.prepare("child", "base", { role: "container" });
        assert.equal((await s.stat("child")).kind, SnapshotKind.ACTIVE);
        assert.equal((await s.stat("child")).parent, "base");
        if (snapshotter === "overlayfs") {
          assert.equal(child[0].type, "overlay");
          assert.ok(child[0].options.some((o) => o.startsWith("lowerdir=")));
        }
        const view = await s.view("ro", "base");
        assert.ok(view[0].options.includes("ro"), JSON.stringify(view));
        assert.equal((await s.stat("ro")).kind, SnapshotKind.VIEW);

        assert.deepEqual(await names(s.list()), ["base", "child", "ro"]);
        assert.deepEqual(await names(s.list(["parent==base"])), ["child", "ro"]);
        assert.deepEqual(await names(s.list(['labels."role"==container'])), ["child"]);
        assert.deepEqual(await names(s.list(["kind==committed", "name==ro"])), ["base", "ro"]);
        // ctr lists the same snapshots in the same namespace.
        const ls = await ctd.ctr(["snapshots", "--snapshotter", snapshotter, "ls"]);
        assert.match(ls.stdout, /^child\s+base\s+Active/m);

        const updated = await s.update("child", { role: "ignored", extra: "1" }, ["labels.extra"]);
        assert.deepEqual(updated.labels, { role: "container", extra: "1" });
        const replaced = await s.update("child", { only: "this" });
        assert.deepEqual(replaced.labels, { only: "this" });

        await assert.rejects(s.prepare("child", "base"), AlreadyExistsError);
        await assert.rejects(s.prepare("orphan", "no-such-parent"), NotFoundError);
        await assert.rejects(s.remove("base"), FailedPreconditionError);
        await s.remove("child");
        await s.remove("ro");
        await s.remove("base");
        assert.deepEqual(await names(s.list()), []);
        await assert.rejects(s.remove("base"), NotFoundError);
      });
    },
  });
}

Deno.test({
  name: "snapshots().cleanup() fails with UnsupportedError on containerd 1.6",
  ignore: !canRunContainerd,
  fn: async () => {
    await withClient(async ({ client }) => {
      // containerd 1.6 does not pass Cleanup through its metadata layer, for
      // built-in and proxy snapshotters alike: the call answers UNIMPLEMENTED.
      for (const snapshotter of ["overlayfs", "native"]) {
        await assert.rejects(client.snapshots(snapshotter).cleanup(), UnsupportedError);
      }
    });
  },
});
