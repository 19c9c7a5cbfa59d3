import assert from "node:assert/strict";
import { openConversionStore, SqliteConversionStore } from "../../src/convert/mod.ts";
import { InvalidArgumentError, UnsupportedError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";

const blob = (c: string, size = 10) => ({ digest: `sha256:${c.repeat(64)}`, size });

Deno.test("SqliteConversionStore lists the destination repository first and keeps rows across opens", async () => {
  await withTempDir((tmp) => {
    const path = `${tmp}/x/y/obdconv.db`;
    const store = new SqliteConversionStore(path);
    store.putLayer({ host: "h:1", repo: "a" }, "sha256:c1", blob("a"));
    store.putLayer({ host: "h:1", repo: "b" }, "sha256:c1", blob("b", 20));
    store.putLayer({ host: "h:2", repo: "b" }, "sha256:c1", blob("c"));
    store.close();
    const again = new SqliteConversionStore(path);
    try {
      assert.deepEqual(again.layers({ host: "h:1", repo: "b" }, "sha256:c1"), [
        { repo: "b", ...blob("b", 20) },
        { repo: "a", ...blob("a") },
      ]);
      again.deleteLayer({ host: "h:1", repo: "b" }, "sha256:c1");
      assert.deepEqual(again.layers({ host: "h:1", repo: "b" }, "sha256:c1").map((l) => l.repo), [
        "a",
      ]);
      again.putManifest({ host: "h:1", repo: "a" }, "sha256:m", "t", blob("d"));
      assert.deepEqual(again.manifests({ host: "h:1", repo: "z" }, "sha256:m", "t"), [
        { repo: "a", ...blob("d") },
      ]);
      assert.deepEqual(again.manifests({ host: "h:1", repo: "z" }, "sha256:m", "other"), []);
      again.deleteManifest({ host: "h:1", repo: "a" }, "sha256:m", "t");
      assert.deepEqual(again.manifests({ host: "h:1", repo: "a" }, "sha256:m", "t"), []);
    } finally {
      again.close();
      again.close();
    }
  });
});

Deno.test("openConversionStore() throws UnsupportedError for mysql and InvalidArgumentError for others", () => {
  assert.throws(() => openConversionStore({ type: "mysql", dsn: "x" }), UnsupportedError);
  assert.throws(() => openConversionStore({ type: "redis" }), InvalidArgumentError);
});
