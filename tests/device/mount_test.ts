import assert from "node:assert/strict";
import { attachLoop, detachLoop, mountExt4, mountpointsOf, unmount } from "../../src/device/mod.ts";
import { UnavailableError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";
import { skipReason } from "./_privileges.ts";

const ignore = skipReason !== undefined;

async function mkfs(file: string, mib: number): Promise<void> {
  await Deno.writeFile(file, new Uint8Array(0));
  await Deno.truncate(file, mib << 20);
  const out = await new Deno.Command("mkfs.ext4", { args: ["-q", "-F", file] }).output();
  assert.ok(out.success, "mkfs.ext4 failed");
}

Deno.test({
  name: "mountExt4() mounts read-only and unmount() lets go",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await mkfs(`${dir}/fs.raw`, 16);
      await Deno.mkdir(`${dir}/mnt`);
      const loop = await attachLoop(`${dir}/fs.raw`, { readOnly: true });
      try {
        await mountExt4(loop.device, `${dir}/mnt`, { readOnly: true });
        try {
          assert.deepEqual(await mountpointsOf(loop.device), [`${dir}/mnt`]);
          await assert.rejects(() => Deno.writeTextFile(`${dir}/mnt/x`, "x"));
        } finally {
          await unmount(`${dir}/mnt`);
        }
        assert.deepEqual(await mountpointsOf(loop.device), []);
      } finally {
        await detachLoop(loop.device);
      }
    }),
});

Deno.test({
  name: "mountExt4() throws UnavailableError for a device without ext4",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.writeFile(`${dir}/zeros.raw`, new Uint8Array(1 << 20));
      await Deno.mkdir(`${dir}/mnt`);
      const loop = await attachLoop(`${dir}/zeros.raw`, { readOnly: true });
      try {
        await assert.rejects(
          () => mountExt4(loop.device, `${dir}/mnt`, { readOnly: true }),
          (e: Error) => e instanceof UnavailableError && e.message.includes(loop.device),
        );
      } finally {
        await detachLoop(loop.device);
      }
    }),
});

Deno.test({
  name: "unmount() throws UnavailableError for a directory that is not mounted",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await assert.rejects(() => unmount(dir), UnavailableError);
    }),
});

Deno.test("mountpointsOf() is empty for a source that is not mounted", async () => {
  assert.deepEqual(await mountpointsOf("/dev/nonexistent"), []);
});
