import assert from "node:assert/strict";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "../../src/errors.ts";
import {
  defaultSnapshotterConfig,
  openSnapshotter,
  type SnapshotInfo,
  type Snapshotter,
} from "../../src/snapshotter/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { canMount, du, mountAll, unmountAll, unmountBelow } from "./_mount.ts";

const indexOff = (() => {
  try {
    Deno.statSync("/sys/module/overlay/parameters/index");
    return ["index=off"];
  } catch {
    return [];
  }
})();

async function collect(it: AsyncIterable<SnapshotInfo>): Promise<string[]> {
  const out: string[] = [];
  for await (const i of it) out.push(i.name);
  return out.sort();
}

/** Runs `fn` with a snapshotter on a fresh root and a mount target; undoes every mount after. */
function withSnapshotter(
  fn: (sn: Snapshotter, root: string, mnt: string) => Promise<void>,
  config = defaultSnapshotterConfig(),
): Promise<void> {
  return withTempDir(async (tmp) => {
    const root = `${tmp}/root`;
    const mnt = `${tmp}/mnt`;
    await Deno.mkdir(mnt);
    const sn = await openSnapshotter({ root, config });
    try {
      await fn(sn, root, mnt);
    } finally {
      await unmountBelow(tmp);
      await sn.close();
    }
  });
}

Deno.test({
  name:
    "prepare() and commit() stack plain layers through real overlay mounts as containerd's overlayfs",
  ignore: !canMount,
  fn: () =>
    withSnapshotter(async (sn, root, mnt) => {
      const s = `${root}/snapshots`;
      let m = await sn.prepare("k1", "", { a: "1" });
      assert.deepEqual(m, [{ type: "bind", source: `${s}/1/fs`, options: ["rw", "rbind"] }]);
      await mountAll(m, mnt);
      await Deno.writeTextFile(`${mnt}/a`, "layer one");
      await Deno.mkdir(`${mnt}/d`);
      await Deno.writeFile(`${mnt}/d/x`, new Uint8Array(100_000));
      await unmountAll(mnt);
      const live = await sn.usage("k1");
      assert.deepEqual(live, await du(`${s}/1/fs`));
      await sn.commit("l1", "k1", { b: "2" });
      const l1 = await sn.stat("l1");
      assert.equal(l1.kind, "committed");
      assert.deepEqual(l1.labels, { b: "2" }, "commit labels replace, not inherit");
      await assert.rejects(sn.stat("k1"), NotFoundError);
      const u1 = await sn.usage("l1");
      assert.deepEqual(u1, live);
      assert.ok(u1.size >= 100_000 && u1.inodes === 4, JSON.stringify(u1));

      m = await sn.prepare("k2", "l1", {});
      assert.deepEqual(m, [{
        type: "overlay",
        source: "overlay",
        options: [...indexOff, `workdir=${s}/2/work`, `upperdir=${s}/2/fs`, `lowerdir=${s}/1/fs`],
      }]);
      await mountAll(m, mnt);
      assert.equal(await Deno.readTextFile(`${mnt}/a`), "layer one");
      await Deno.remove(`${mnt}/a`);
      await Deno.writeTextFile(`${mnt}/b`, "layer two");
      await unmountAll(mnt);
      const whiteout = await Deno.lstat(`${s}/2/fs/a`);
      assert.ok(whiteout.isCharDevice && whiteout.rdev === 0, "deleting makes a whiteout");
      await sn.commit("l2", "k2", {});

      m = await sn.view("v2", "l2", {});
      assert.deepEqual(m, [{
        type: "overlay",
        source: "overlay",
        options: [...indexOff, `lowerdir=${s}/2/fs:${s}/1/fs`],
      }]);
      await mountAll(m, mnt);
      assert.equal(await Deno.readTextFile(`${mnt}/b`), "layer two");
      await assert.rejects(Deno.stat(`${mnt}/a`), Deno.errors.NotFound);
      assert.equal((await Deno.stat(`${mnt}/d/x`)).size, 100_000);
      await assert.rejects(
        Deno.writeTextFile(`${mnt}/c`, "no"),
        /Read-only file system|os error 30/,
      );
      await unmountAll(mnt);

      m = await sn.view("v1", "l1", {});
      assert.deepEqual(m, [{ type: "bind", source: `${s}/1/fs`, options: ["ro", "rbind"] }]);
      await mountAll(m, mnt);
      assert.equal(await Deno.readTextFile(`${mnt}/a`), "layer one");
      await assert.rejects(
        Deno.writeTextFile(`${mnt}/c`, "no"),
        /Read-only file system|os error 30/,
      );
      await unmountAll(mnt);

      m = await sn.prepare("k3", "l2", {});
      assert.deepEqual(await sn.mounts("k3"), m);
      assert.deepEqual(await sn.mounts("v2"), [{
        type: "overlay",
        source: "overlay",
        options: [...indexOff, `lowerdir=${s}/2/fs:${s}/1/fs`],
      }]);
      assert.deepEqual(await sn.view("v0", "", {}), [{
        type: "bind",
        source: `${s}/6/fs`,
        options: ["ro", "rbind"],
      }]);
      assert.deepEqual(await sn.usage("v0"), { size: 0, inodes: 0 });
    }),
});

Deno.test({
  name: "prepare(), commit(), remove() and mounts() fail with containerd's error kinds",
  ignore: !canMount,
  fn: () =>
    withSnapshotter(async (sn) => {
      await sn.prepare("k1", "", {});
      await sn.commit("l1", "k1", {});
      await sn.prepare("a1", "l1", {});
      await sn.view("v1", "l1", {});
      await assert.rejects(sn.prepare("a1", "l1", {}), AlreadyExistsError);
      await assert.rejects(
        sn.prepare("l1", "", {}),
        AlreadyExistsError,
        "keys and names share one namespace",
      );
      await assert.rejects(sn.view("v1", "", {}), AlreadyExistsError);
      await assert.rejects(sn.prepare("x", "nope", {}), NotFoundError);
      await assert.rejects(sn.prepare("x", "a1", {}), InvalidArgumentError, "parent not committed");
      await assert.rejects(sn.prepare("", "", {}), InvalidArgumentError);
      await assert.rejects(sn.commit("l2", "v1", {}), FailedPreconditionError, "a view");
      await assert.rejects(sn.commit("l2", "l1", {}), FailedPreconditionError, "committed");
      await assert.rejects(sn.commit("l1", "a1", {}), AlreadyExistsError);
      await assert.rejects(sn.commit("l2", "nope", {}), NotFoundError);
      await assert.rejects(sn.remove("l1"), FailedPreconditionError, "it has children");
      await assert.rejects(sn.remove("nope"), NotFoundError);
      await assert.rejects(sn.mounts("l1"), FailedPreconditionError);
      await assert.rejects(sn.mounts("nope"), NotFoundError);
      await assert.rejects(sn.stat("nope"), NotFoundError);
      await assert.rejects(sn.usage("nope"), NotFoundError);
      await assert.rejects(sn.update({ name: "nope", labels: {} }, []), NotFoundError);
      await assert.rejects(sn.update({ name: "l1", labels: {} }, ["kind"]), InvalidArgumentError);
      assert.throws(() => sn.walk(["name="]), InvalidArgumentError);
      // Nothing failed half-way: the same snapshots are there.
      assert.deepEqual(await collect(sn.walk([])), ["a1", "l1", "v1"]);
      await sn.remove("a1");
      await sn.remove("v1");
      await sn.remove("l1");
      assert.deepEqual(await collect(sn.walk([])), []);
    }),
});

Deno.test({
  name: "update() replaces all labels or edits one per labels.KEY and moves updated",
  ignore: !canMount,
  fn: () =>
    withSnapshotter(async (sn) => {
      await sn.prepare("k", "", { a: "1", b: "2" });
      const before = await sn.stat("k");
      await new Promise((r) => setTimeout(r, 5));
      let i = await sn.update({ name: "k", labels: { b: "3", c: "4", d: "5" } }, [
        "labels.b",
        "labels.a",
      ]);
      assert.deepEqual(i.labels, { b: "3" }, "labels.a absent from the request removes it");
      assert.ok(i.updated > before.updated);
      assert.deepEqual(i.created, before.created);
      i = await sn.update({ name: "k", labels: { x: "y" } }, ["labels"]);
      assert.deepEqual(i.labels, { x: "y" });
      i = await sn.update({ name: "k", labels: { z: "1", e: "" } }, []);
      assert.deepEqual(i.labels, { z: "1" }, "no field paths: all labels; empty values dropped");
      assert.deepEqual((await sn.stat("k")).labels, { z: "1" });
    }),
});

Deno.test({
  name: "walk() selects with containerd filters, several strings OR'd",
  ignore: !canMount,
  fn: () =>
    withSnapshotter(async (sn) => {
      await sn.prepare("k1", "", { "containerd.io/snapshot.ref": "sha256:aa", team: "x" });
      await sn.commit("sha256:aa", "k1", { "containerd.io/snapshot.ref": "sha256:aa" });
      await sn.prepare("k2", "sha256:aa", { team: "y" });
      await sn.view("v", "sha256:aa", { "with.dot": "1" });
      assert.deepEqual(
        await collect(sn.walk(['labels."containerd.io/snapshot.ref"==sha256:aa,parent==""'])),
        ["sha256:aa"],
      );
      assert.deepEqual(await collect(sn.walk(["parent==sha256:aa"])), ["k2", "v"]);
      assert.deepEqual(await collect(sn.walk(["kind==active", "kind==view"])), ["k2", "v"]);
      assert.deepEqual(await collect(sn.walk(["labels.team!=y"])), ["sha256:aa", "v"]);
      assert.deepEqual(await collect(sn.walk(["labels.with.dot"])), ["v"]);
      assert.deepEqual(await collect(sn.walk(["name~=^k"])), ["k2"]);
      const [v] = await Array.fromAsync(sn.walk(["name==v"]));
      assert.equal(v.parent, "sha256:aa");
      assert.equal(v.kind, "view");
    }),
});

Deno.test({
  name: "openSnapshotter() on the same root finds every snapshot again and never reuses an id",
  ignore: !canMount,
  fn: () =>
    withTempDir(async (tmp) => {
      const root = `${tmp}/root`;
      let sn = await openSnapshotter({ root });
      await sn.prepare("k1", "", { a: "1" });
      await Deno.writeTextFile(`${root}/snapshots/1/fs/f`, "x".repeat(5000));
      await sn.commit("l1", "k1", { a: "1" });
      await sn.prepare("k2", "l1", {});
      await sn.prepare("k3", "l1", {});
      await sn.remove("k3");
      const before = await Array.fromAsync(sn.walk([]));
      const usage = await sn.usage("l1");
      await sn.close();
      await sn.close(); // idempotent
      await assert.rejects(sn.stat("l1"), Error);

      sn = await openSnapshotter({ root });
      try {
        assert.deepEqual(await Array.fromAsync(sn.walk([])), before);
        assert.deepEqual(await sn.usage("l1"), usage);
        const m = await sn.prepare("k4", "l1", {});
        assert.ok(m[0].options.includes(`upperdir=${root}/snapshots/4/fs`), m[0].options.join(","));
        await sn.commit("l4", "k4", {});
        assert.equal((await sn.stat("l4")).parent, "l1");
      } finally {
        await sn.close();
      }
    }),
});

Deno.test({
  name: "remove() deletes the directory at once, or leaves it to cleanup() with asyncRemove",
  ignore: !canMount,
  fn: async () => {
    await withSnapshotter(async (sn, root) => {
      await sn.prepare("k", "", {});
      await sn.remove("k");
      await assert.rejects(Deno.stat(`${root}/snapshots/1`), Deno.errors.NotFound);
      // A directory no snapshot owns (a crash between mkdir and the record) goes on cleanup.
      await Deno.mkdir(`${root}/snapshots/new-123/fs`, { recursive: true });
      await Deno.mkdir(`${root}/snapshots/77/fs`, { recursive: true });
      await sn.prepare("keep", "", {});
      await sn.cleanup();
      const left = (await Array.fromAsync(Deno.readDir(`${root}/snapshots`))).map((e) => e.name);
      assert.deepEqual(left, ["2"]);
    });
    await withSnapshotter(async (sn, root) => {
      await sn.prepare("k", "", {});
      await sn.remove("k");
      await Deno.stat(`${root}/snapshots/1`);
      await sn.cleanup();
      await assert.rejects(Deno.stat(`${root}/snapshots/1`), Deno.errors.NotFound);
    }, { ...defaultSnapshotterConfig(), asyncRemove: true });
  },
});

Deno.test({
  name: "usage() of an active snapshot is live and counts hard links once",
  ignore: !canMount,
  fn: () =>
    withSnapshotter(async (sn, root) => {
      await sn.prepare("k", "", {});
      const fs = `${root}/snapshots/1/fs`;
      const empty = await sn.usage("k");
      assert.deepEqual(empty, await du(fs));
      await Deno.writeFile(`${fs}/big`, new Uint8Array(1 << 20).fill(1));
      await Deno.link(`${fs}/big`, `${fs}/big2`);
      await Deno.symlink("big", `${fs}/sym`);
      const u = await sn.usage("k");
      assert.deepEqual(u, await du(fs));
      assert.equal(u.inodes, empty.inodes + 2);
      assert.ok(u.size >= empty.size + (1 << 20));
    }),
});

Deno.test({
  name: "close() twice is fine and later calls fail",
  fn: () =>
    withTempDir(async (tmp) => {
      const sn = await openSnapshotter({ root: `${tmp}/root` });
      await sn.close();
      await sn.close();
      await assert.rejects(sn.prepare("k", "", {}));
    }),
});

Deno.test({
  name: "prepare() gives the new upper directory the owner of its parent's, as containerd does",
  ignore: !canMount,
  fn: () =>
    withSnapshotter(async (sn, root) => {
      await sn.prepare("k1", "", {});
      await Deno.chown(`${root}/snapshots/1/fs`, 1000, 1001);
      await sn.commit("l1", "k1", {});
      await sn.prepare("k2", "l1", {});
      const st = await Deno.stat(`${root}/snapshots/2/fs`);
      assert.deepEqual([st.uid, st.gid, st.mode! & 0o777], [1000, 1001, 0o755]);
    }),
});
