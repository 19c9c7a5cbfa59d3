import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.ts";
import { createLayer, exportView, formatLayer, openView } from "../../src/layer/mod.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("formatLayer() makes an empty ext4 filesystem that e2fsck finds clean", async () => {
  await withTempDir(async (dir) => {
    createLayer(`${dir}/data`, `${dir}/index`, { virtualSize: 1 << 30 });
    formatLayer(`${dir}/data`, `${dir}/index`, { timestamp: 1_700_000_000 });
    const image = openView([], { upper: { data: `${dir}/data`, index: `${dir}/index` } });
    try {
      assert.equal(image.size, 1 << 30);
      await exportView(image, `${dir}/fs.img`);
    } finally {
      image.close();
    }
    const fsck = await new Deno.Command("e2fsck", {
      args: ["-fn", `${dir}/fs.img`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(fsck.code, 0, new TextDecoder().decode(fsck.stdout));
    const dump = await new Deno.Command("dumpe2fs", {
      args: ["-h", `${dir}/fs.img`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const header = new TextDecoder().decode(dump.stdout);
    assert.match(header, /Block count:\s+262144\b/);
    assert.doesNotMatch(header, /has_journal/);
  });
});

Deno.test("formatLayer() refuses a layer too small for ext4", async () => {
  await withTempDir((dir) => {
    createLayer(`${dir}/data`, `${dir}/index`, { virtualSize: 1 << 20 });
    assert.throws(() => formatLayer(`${dir}/data`, `${dir}/index`), InvalidArgumentError);
  });
});
