import assert from "node:assert/strict";
import {
  EXT4_PARENTS,
  Ext4Fs,
  mkfs,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from "../../ffi/ext4_apply.ts";
import { Image } from "../../ffi/image.ts";
import { createWritableLayer } from "../../ffi/lsmt.ts";
import { exportView } from "../../src/layer/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { InvalidArgumentError, NotFoundError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";

const ATTR = { mode: 0o644, uid: 0, gid: 0, mtime: 1700000000 };

function freshImage(dir: string, size = 256 << 20): Image {
  const upper = createWritableLayer(`${dir}/data`, `${dir}/index`, { virtualSize: size });
  return Image.open([], upper);
}

Deno.test("Ext4Fs writes every kind of entry and e2fsck finds the result clean", async () => {
  await withTempDir(async (dir) => {
    const image = freshImage(dir);
    try {
      mkfs(image, { timestamp: 1700000000 });
      const fs = Ext4Fs.open(image);
      try {
        fs.mkdir("/etc", { ...ATTR, mode: 0o755 });
        const f = fs.createFile("/etc/motd", { ...ATTR, uid: 7 }, 11);
        f.write(new TextEncoder().encode("hello "));
        f.write(new TextEncoder().encode("world"));
        f.end();
        fs.symlink("/etc/link", "motd", ATTR);
        fs.hardlink("/etc/motd2", "/etc/motd");
        fs.mknod("/dev/null", { ...ATTR, mode: S_IFCHR | 0o666 }, 1, 3, EXT4_PARENTS);
        fs.setXattr("/etc/motd", "user.k", new TextEncoder().encode("v"));
        const st = fs.lookup("/etc/motd");
        assert.equal(st.mode, S_IFREG | 0o644);
        assert.equal(st.size, 11);
        assert.equal(st.nlink, 2);
        assert.equal(st.uid, 7);
        assert.equal(st.mtime, 1700000000);
        assert.equal(fs.lookup("/etc/link").mode & S_IFMT, S_IFLNK);
        assert.equal(fs.lookup("/").mode & S_IFMT, S_IFDIR);
        assert.deepEqual(fs.listDir("/etc").sort(), ["link", "motd", "motd2"]);
        fs.remove("/etc/motd2");
        assert.throws(() => fs.lookup("/etc/motd2"), NotFoundError);
        assert.throws(() => fs.remove("/etc/motd2"), NotFoundError);
        assert.throws(() => fs.hardlink("/x", "/etc"), InvalidArgumentError);
      } finally {
        fs.close();
        fs.close();
      }
      await exportView(image, `${dir}/fs.img`);
    } finally {
      image.close();
    }
    await runTool("e2fsck", ["-fn", `${dir}/fs.img`]);
    const out = await runTool("debugfs", ["-R", "cat /etc/motd", `${dir}/fs.img`]);
    assert.equal(out, "hello world");
  });
});

Deno.test("Ext4Fs.listDir() grows its buffer for long listings", async () => {
  await withTempDir((dir) => {
    const image = freshImage(dir);
    try {
      mkfs(image);
      const fs = Ext4Fs.open(image);
      try {
        const names = Array.from({ length: 200 }, (_, i) => `${"n".repeat(60)}-${i}`);
        for (const n of names) fs.createFile(`/d/${n}`, ATTR, 0, EXT4_PARENTS).end();
        assert.deepEqual(fs.listDir("/d").sort(), names.sort());
        assert.throws(() => fs.listDir("/d/" + names[0]), InvalidArgumentError);
      } finally {
        fs.close();
      }
    } finally {
      image.close();
    }
  });
});

Deno.test("Ext4Fs.open() of an image without ext4 fails with the kind of corrupt data", async () => {
  await withTempDir((dir) => {
    const image = freshImage(dir);
    try {
      assert.throws(() => Ext4Fs.open(image), (err: Error) => err.name === "CorruptDataError");
    } finally {
      image.close();
    }
  });
});
