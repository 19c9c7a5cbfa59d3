import assert from "node:assert/strict";
import { checkSampleFiles } from "../../src/demo/check_files.ts";
import { buildSampleImage, type SampleImage } from "../../src/demo/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { CorruptDataError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";

/** The image's tree as a container would see it: both layers extracted, the whiteout applied. */
async function extract(image: SampleImage, root: string): Promise<void> {
  await Deno.mkdir(root);
  for (const layer of image.layers) await runTool("tar", ["-xzf", layer.path, "-C", root]);
  await Deno.remove(`${root}/etc/.wh.issue`);
  await Deno.remove(`${root}${image.removed}`);
}

Deno.test("checkSampleFiles() accepts the image's tree and counts the files it read", async () => {
  await withTempDir(async (dir) => {
    const image = await buildSampleImage(`${dir}/build`, { dataBytes: 8192 });
    await extract(image, `${dir}/root`);
    assert.equal(await checkSampleFiles(`${dir}/root`, image), 4);
  });
});

Deno.test("checkSampleFiles() throws CorruptDataError when a file, the whiteout or the data file differs", async () => {
  await withTempDir(async (dir) => {
    const image = await buildSampleImage(`${dir}/build`, { dataBytes: 8192 });
    const root = `${dir}/root`;
    await extract(image, root);
    const motd = await Deno.readFile(`${root}/etc/motd`);
    await Deno.writeTextFile(`${root}/etc/motd`, "changed\n");
    await assert.rejects(checkSampleFiles(root, image), CorruptDataError, "/etc/motd");
    await Deno.writeFile(`${root}/etc/motd`, motd);

    await Deno.writeTextFile(`${root}${image.removed}`, "back\n");
    await assert.rejects(checkSampleFiles(root, image), CorruptDataError, image.removed);
    await Deno.remove(`${root}${image.removed}`);

    await Deno.truncate(`${root}${image.dataFile.path}`, 10);
    await assert.rejects(checkSampleFiles(root, image), CorruptDataError, image.dataFile.path);
  });
});
