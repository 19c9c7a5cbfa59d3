import assert from "node:assert/strict";
import { mountAt, overlaysUsing, parseMountInfo, readMountTable } from "../../src/device/mod.ts";

const SAMPLE = [
  "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "40 22 7:3 / /var/lib/x/snapshots/1/block/mountpoint ro,relatime shared:9 - ext4 /dev/loop3 ro,noload",
  "41 22 0:50 / /run/c/with\\040space rw,relatime shared:10 - overlay overlay " +
  "rw,lowerdir=/var/lib/x/snapshots/1/block/mountpoint,upperdir=/var/lib/x/snapshots/2/fs,workdir=/var/lib/x/snapshots/2/work,index=off",
  "42 22 0:51 / /run/c/two rw - overlay overlay rw,lowerdir+=/a,lowerdir+=/b",
  "43 22 7:3 / /var/lib/x/snapshots/1/block/mountpoint ro - ext4 /dev/loop4 ro",
].join("\n");

Deno.test("parseMountInfo() reads mount point, type, source and options, unescaping octal", () => {
  const t = parseMountInfo(SAMPLE);
  assert.equal(t.length, 5);
  assert.deepEqual(t[2].mountpoint, "/run/c/with space");
  assert.equal(t[1].fsType, "ext4");
  assert.equal(t[1].source, "/dev/loop3");
  assert.deepEqual(t[1].options, ["ro", "noload"]);
});

Deno.test("mountAt() finds the topmost mount on a directory", () => {
  const t = parseMountInfo(SAMPLE);
  assert.equal(mountAt(t, "/var/lib/x/snapshots/1/block/mountpoint")?.source, "/dev/loop4");
  assert.equal(mountAt(t, "/var/lib/x"), undefined);
});

Deno.test("overlaysUsing() finds overlays with the directory as lower, upper or work dir", () => {
  const t = parseMountInfo(SAMPLE);
  assert.deepEqual(overlaysUsing(t, "/var/lib/x/snapshots/1/block/mountpoint"), [
    "/run/c/with space",
  ]);
  assert.deepEqual(overlaysUsing(t, "/var/lib/x/snapshots/2/fs"), ["/run/c/with space"]);
  assert.deepEqual(overlaysUsing(t, "/b"), ["/run/c/two"]);
  assert.deepEqual(overlaysUsing(t, "/var/lib/x/snapshots/1"), []);
});

Deno.test("readMountTable() reads this process's table, which has a root mount", async () => {
  const t = await readMountTable();
  assert.ok(mountAt(t, "/"));
});
