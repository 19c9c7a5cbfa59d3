import assert from "node:assert/strict";
import {
  attachLoop,
  detachLoopsUnder,
  loopsUnder,
  mountsUnder,
  releaseUnder,
  unmountUnder,
} from "../../src/device/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { attachedLoops, skipReason } from "./_privileges.ts";

const ignore = skipReason !== undefined;

async function mountTmpfs(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const out = await new Deno.Command("mount", { args: ["-t", "tmpfs", "tmpfs", dir] }).output();
  assert.ok(out.success, `mount tmpfs on ${dir} failed`);
}

Deno.test("mountsUnder() is empty for a directory with nothing mounted", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(await mountsUnder(dir), []);
  });
});

Deno.test({
  name: "mountsUnder() lists nested mounts deepest first, unescapes spaces, skips look-alike paths",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await mountTmpfs(`${dir}/a`);
      try {
        await mountTmpfs(`${dir}/a/b c`);
        await mountTmpfs(`${dir}-x`);
        try {
          assert.deepEqual(await mountsUnder(dir), [`${dir}/a/b c`, `${dir}/a`]);
        } finally {
          await unmountUnder(`${dir}-x`);
          await Deno.remove(`${dir}-x`);
        }
      } finally {
        await unmountUnder(dir);
      }
      assert.deepEqual(await mountsUnder(dir), []);
    }),
});

Deno.test({
  name:
    "loopsUnder() and detachLoopsUnder() find and detach loop devices backed by files below the directory only",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/in`);
      for (const f of [`${dir}/in/disk`, `${dir}/in-x`]) {
        await Deno.writeFile(f, new Uint8Array(1 << 20));
      }
      const inside = await attachLoop(`${dir}/in/disk`, { readOnly: true });
      const outside = await attachLoop(`${dir}/in-x`, { readOnly: true });
      try {
        assert.deepEqual(await loopsUnder(`${dir}/in`), [inside.device]);
        await detachLoopsUnder(`${dir}/in`);
        const loops = await attachedLoops();
        assert.doesNotMatch(loops, new RegExp(`^${inside.device}:`, "m"));
        assert.match(loops, new RegExp(`^${outside.device}:`, "m"));
        assert.deepEqual(await loopsUnder(`${dir}/in`), []);
      } finally {
        await detachLoopsUnder(dir);
      }
      assert.doesNotMatch(await attachedLoops(), new RegExp(dir));
    }),
});

Deno.test({
  name: "releaseUnder() unmounts a filesystem on a loop device and detaches the device",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.writeFile(`${dir}/fs.raw`, new Uint8Array(0));
      await Deno.truncate(`${dir}/fs.raw`, 16 << 20);
      const mkfs = await new Deno.Command("mkfs.ext4", { args: ["-q", "-F", `${dir}/fs.raw`] })
        .output();
      assert.ok(mkfs.success);
      const loop = await attachLoop(`${dir}/fs.raw`, { readOnly: false });
      await Deno.mkdir(`${dir}/mnt`);
      const out = await new Deno.Command("mount", { args: [loop.device, `${dir}/mnt`] }).output();
      assert.ok(out.success);
      await releaseUnder(dir);
      await releaseUnder(dir);
      assert.deepEqual(await mountsUnder(dir), []);
      assert.doesNotMatch(await attachedLoops(), new RegExp(dir));
    }),
});
