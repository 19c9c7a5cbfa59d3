import assert from "node:assert/strict";
import { diskUsage } from "../../src/snapshotter/disk_usage.ts";
import { withTempDir } from "../_helpers.ts";
import { du } from "./_mount.ts";

Deno.test("diskUsage() agrees with du: blocks and inodes, hard links once", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.writeFile(`${dir}/a/f`, new Uint8Array(70_000).fill(7));
    await Deno.link(`${dir}/a/f`, `${dir}/a/b/g`);
    await Deno.symlink("f", `${dir}/a/s`);
    // A sparse file counts its allocated blocks only.
    using sparse = await Deno.open(`${dir}/a/sparse`, { write: true, create: true });
    await sparse.truncate(10 << 20);
    assert.deepEqual(await diskUsage([dir]), await du(dir));
  });
});

Deno.test("diskUsage() skips excluded paths and missing roots, and sums several roots", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/x/skip`, { recursive: true });
    await Deno.writeFile(`${dir}/x/skip/big`, new Uint8Array(50_000).fill(1));
    await Deno.mkdir(`${dir}/y`);
    const all = await diskUsage([`${dir}/x`]);
    const kept = await diskUsage([`${dir}/x`], [`${dir}/x/skip`]);
    assert.equal(all.inodes - kept.inodes, 2);
    assert.ok(all.size - kept.size >= 50_000);
    const both = await diskUsage([`${dir}/x`, `${dir}/y`, `${dir}/missing`]);
    const y = await diskUsage([`${dir}/y`]);
    assert.deepEqual(both, { size: all.size + y.size, inodes: all.inodes + y.inodes });
    assert.deepEqual(await diskUsage([`${dir}/missing`]), { size: 0, inodes: 0 });
  });
});
