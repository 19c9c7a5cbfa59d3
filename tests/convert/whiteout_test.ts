import assert from "node:assert/strict";
import { EXT4_PARENTS, Ext4Fs, mkfs } from "../../ffi/ext4_apply.ts";
import { Image } from "../../ffi/image.ts";
import { createWritableLayer } from "../../ffi/lsmt.ts";
import { applyWhiteout, parseWhiteout } from "../../src/convert/mod.ts";
import { withTempDir } from "../_helpers.ts";

const ATTR = { mode: 0o755, uid: 0, gid: 0, mtime: 1700000000 };

Deno.test("parseWhiteout() tells removals, opaque markers and aufs bookkeeping apart", () => {
  assert.deepEqual(parseWhiteout("/a/.wh.b"), { kind: "remove", path: "/a/b" });
  assert.deepEqual(parseWhiteout("/.wh.b"), { kind: "remove", path: "/b" });
  assert.deepEqual(parseWhiteout("/a/.wh..wh..opq"), { kind: "opaque", dir: "/a" });
  assert.deepEqual(parseWhiteout("/.wh..wh..opq"), { kind: "opaque", dir: "/" });
  assert.deepEqual(parseWhiteout("/.wh..wh.plnk"), { kind: "ignore" });
  assert.equal(parseWhiteout("/a/b.wh.c"), null);
  assert.equal(parseWhiteout("/a/.whb"), null);
});

/** A filesystem with /lower/{x,y/z} as if a lower layer had made them. */
async function withFs(fn: (fs: Ext4Fs) => void) {
  await withTempDir((dir) => {
    const upper = createWritableLayer(`${dir}/data`, `${dir}/index`, { virtualSize: 64 << 20 });
    const image = Image.open([], upper);
    try {
      mkfs(image);
      const fs = Ext4Fs.open(image);
      try {
        fs.createFile("/lower/x", ATTR, 0, EXT4_PARENTS).end();
        fs.createFile("/lower/y/z", ATTR, 0, EXT4_PARENTS).end();
        fn(fs);
      } finally {
        fs.close();
      }
    } finally {
      image.close();
    }
  });
}

Deno.test("applyWhiteout() removes a lower entry, recursively, and ignores a missing one", async () => {
  await withFs((fs) => {
    assert.equal(applyWhiteout(fs, { kind: "remove", path: "/lower/y" }, new Set()), 1);
    assert.deepEqual(fs.listDir("/lower"), ["x"]);
    assert.equal(applyWhiteout(fs, { kind: "remove", path: "/lower/none" }, new Set()), 0);
    assert.equal(applyWhiteout(fs, { kind: "remove", path: "/nodir/none" }, new Set()), 0);
  });
});

Deno.test("applyWhiteout() keeps what this layer made, whatever the order", async () => {
  await withFs((fs) => {
    const made = new Set(["/lower/x"]);
    assert.equal(applyWhiteout(fs, { kind: "remove", path: "/lower/x" }, made), 0);
    assert.deepEqual(fs.listDir("/lower").sort(), ["x", "y"]);
  });
});

Deno.test("applyWhiteout() of an opaque directory empties lower entries below re-made directories", async () => {
  await withFs((fs) => {
    // This layer made /lower/y (over the lower one) and /lower/y/new.
    fs.createFile("/lower/y/new", ATTR, 0).end();
    const made = new Set(["/lower/y", "/lower/y/new"]);
    assert.equal(applyWhiteout(fs, { kind: "opaque", dir: "/lower" }, made), 2);
    assert.deepEqual(fs.listDir("/lower"), ["y"]);
    assert.deepEqual(fs.listDir("/lower/y"), ["new"]);
    assert.equal(applyWhiteout(fs, { kind: "opaque", dir: "/missing" }, made), 0);
    assert.equal(applyWhiteout(fs, { kind: "opaque", dir: "/lower/y/new" }, made), 0);
  });
});
