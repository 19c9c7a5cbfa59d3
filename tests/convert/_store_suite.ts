/**
 * Test helper: the behaviour every {@linkcode ConversionStore} must have,
 * written once and run against SQLite and a real MariaDB.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ConversionStore } from "../../src/convert/mod.ts";

const blob = (c: string, size = 10) => ({ digest: `sha256:${c.repeat(64)}`, size });

/**
 * Rows of the destination repository come first, rows survive a reopen,
 * deletes and media types are exact, close twice is fine. `open` must give a
 * store over the same, initially empty, tables each time.
 */
export async function checkStore(open: () => Promise<ConversionStore>): Promise<void> {
  const store = await open();
  await store.putLayer({ host: "h:1", repo: "a" }, "sha256:c1", blob("a"));
  await store.putLayer({ host: "h:1", repo: "b" }, "sha256:c1", blob("b", 20));
  await store.putLayer({ host: "h:2", repo: "b" }, "sha256:c1", blob("c"));
  await store.putLayer({ host: "h:1", repo: "a" }, "sha256:c1", blob("e", 30)); // replaces
  await store.close();
  const again = await open();
  try {
    assert.deepEqual(await again.layers({ host: "h:1", repo: "b" }, "sha256:c1"), [
      { repo: "b", ...blob("b", 20) },
      { repo: "a", ...blob("e", 30) },
    ]);
    assert.deepEqual(await again.layers({ host: "h:1", repo: "b" }, "sha256:c2"), []);
    await again.deleteLayer({ host: "h:1", repo: "b" }, "sha256:c1");
    assert.deepEqual(
      (await again.layers({ host: "h:1", repo: "b" }, "sha256:c1")).map((l) => l.repo),
      ["a"],
    );
    await again.putManifest({ host: "h:1", repo: "a" }, "sha256:m", "t", blob("d"));
    assert.deepEqual(await again.manifests({ host: "h:1", repo: "z" }, "sha256:m", "t"), [
      { repo: "a", ...blob("d") },
    ]);
    assert.deepEqual(await again.manifests({ host: "h:1", repo: "z" }, "sha256:m", "other"), []);
    await again.deleteManifest({ host: "h:1", repo: "a" }, "sha256:m", "t");
    assert.deepEqual(await again.manifests({ host: "h:1", repo: "a" }, "sha256:m", "t"), []);
  } finally {
    await again.close();
    await again.close();
  }
}
