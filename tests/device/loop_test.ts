import assert from "node:assert/strict";
import { attachLoop, detachLoop, loopBackingFile } from "../../src/device/mod.ts";
import { InvalidArgumentError, UnavailableError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";
import { attachedLoops, skipReason } from "./_privileges.ts";

const ignore = skipReason !== undefined;

Deno.test({
  name: "attachLoop() attaches a file read-only with the read-ahead asked for",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const file = `${dir}/disk.raw`;
      await Deno.writeFile(file, new Uint8Array(4 << 20));
      const loop = await attachLoop(file, { readOnly: true, readAheadKb: 512 });
      try {
        const sys = `/sys/block/${loop.device.slice("/dev/".length)}`;
        assert.equal(await loopBackingFile(loop.device), file);
        assert.equal((await Deno.readTextFile(`${sys}/ro`)).trim(), "1");
        assert.equal((await Deno.readTextFile(`${sys}/queue/read_ahead_kb`)).trim(), "512");
        assert.equal((await Deno.readTextFile(`${sys}/queue/logical_block_size`)).trim(), "512");
      } finally {
        await detachLoop(loop.device);
      }
      assert.equal(await loopBackingFile(loop.device), undefined);
      assert.ok(!(await attachedLoops()).includes(file));
    }),
});

Deno.test({
  name: "attachLoop() throws UnavailableError naming a missing file",
  ignore,
  fn: async () => {
    await assert.rejects(
      () => attachLoop("/nonexistent/disk.raw", { readOnly: true }),
      (e: Error) => e instanceof UnavailableError && e.message.includes("/nonexistent/disk.raw"),
    );
  },
});

Deno.test("loopBackingFile() rejects a path that is not a loop device", async () => {
  await assert.rejects(() => loopBackingFile("/dev/sda"), InvalidArgumentError);
});
