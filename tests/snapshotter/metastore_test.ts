import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from "../../src/errors.ts";
import { MetaStore } from "../../src/snapshotter/metastore.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("MetaStore keeps records, labels, usage and devices across reopen (WAL)", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/metadata.db`;
    let store = new MetaStore(path);
    const a = store.create("active", "k1", "", { x: "1" });
    assert.equal(a.id, 1);
    const l1 = store.commit("k1", "l1", { size: 8192, inodes: 2 }, { y: "2" });
    store.create("view", "v", "l1", {});
    store.setDevice(l1.id, "/mnt/1");
    store.close();
    store.close();
    assert.throws(() => store.list(), UnavailableError);

    const db = new DatabaseSync(path);
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    db.close();

    store = new MetaStore(path);
    try {
      const l = store.get("l1");
      assert.deepEqual(
        { ...l, created: 0, updated: 0 },
        {
          id: 1,
          name: "l1",
          parentId: null,
          parent: "",
          kind: "committed",
          labels: { y: "2" },
          created: 0,
          updated: 0,
          usage: { size: 8192, inodes: 2 },
          device: "/mnt/1",
        },
      );
      assert.equal(store.get("v").parent, "l1");
      assert.deepEqual(store.chain(store.get("v").id), [1]);
      assert.equal(store.children(1), 1);
      assert.equal(store.children(1, ["active"]), 0);
    } finally {
      store.close();
    }
  });
});

Deno.test("MetaStore.transaction() rolls every change back when its function throws", async () => {
  await withTempDir((dir) => {
    const store = new MetaStore(`${dir}/metadata.db`);
    try {
      assert.throws(() =>
        store.transaction(() => {
          store.create("active", "a", "", {});
          store.create("active", "b", "", {});
          throw new Error("boom");
        }), /boom/);
      assert.deepEqual(store.list(), []);
      // A nested transaction joins the outer one.
      store.transaction(() => {
        store.create("active", "a", "", {});
        store.commit("a", "c", { size: 0, inodes: 0 }, {});
      });
      assert.deepEqual(store.list().map((r) => [r.name, r.kind]), [["c", "committed"]]);
    } finally {
      store.close();
    }
  });
});

Deno.test("MetaStore create, commit, remove and update fail with containerd's error kinds", async () => {
  await withTempDir((dir) => {
    const store = new MetaStore(`${dir}/metadata.db`);
    try {
      store.create("active", "a", "", {});
      assert.throws(() => store.create("active", "a", "", {}), AlreadyExistsError);
      assert.throws(() => store.create("view", "b", "missing", {}), NotFoundError);
      assert.throws(() => store.create("view", "b", "a", {}), InvalidArgumentError);
      assert.throws(() => store.create("view", "", "", {}), InvalidArgumentError);
      store.create("view", "v", "", {});
      assert.throws(
        () => store.commit("v", "n", { size: 0, inodes: 0 }, {}),
        FailedPreconditionError,
      );
      assert.throws(() => store.commit("x", "n", { size: 0, inodes: 0 }, {}), NotFoundError);
      assert.throws(() => store.commit("a", "v", { size: 0, inodes: 0 }, {}), AlreadyExistsError);
      store.commit("a", "n", { size: 0, inodes: 0 }, {});
      store.create("active", "child", "n", {});
      assert.throws(() => store.remove("n"), FailedPreconditionError);
      assert.throws(() => store.remove("a"), NotFoundError);
      assert.throws(() => store.updateLabels("n", {}, ["parent"]), InvalidArgumentError);
      assert.equal(store.remove("child").name, "child");
      store.remove("n");
      assert.deepEqual(store.list().map((r) => r.name), ["v"]);
    } finally {
      store.close();
    }
  });
});

Deno.test("MetaStore never reuses the id of a removed snapshot", async () => {
  await withTempDir((dir) => {
    const store = new MetaStore(`${dir}/metadata.db`);
    try {
      store.create("active", "a", "", {});
      store.create("active", "b", "", {});
      store.remove("b");
      assert.equal(store.create("active", "c", "", {}).id, 3);
    } finally {
      store.close();
    }
  });
});

Deno.test("MetaStore reports a file it cannot open as UnavailableError", async () => {
  await withTempDir((dir) => {
    assert.throws(() => new MetaStore(`${dir}/missing/dir/metadata.db`), UnavailableError);
  });
});
