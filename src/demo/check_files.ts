import { CorruptDataError } from "../errors.ts";
import { digestOf } from "../registry/mod.ts";
import type { SampleImage } from "./sample_image.ts";

/**
 * Checks the sample image's filesystem mounted at `root`: every listed
 * file reads back with its sha256, the whited-out path is gone, and the
 * data file has its size (a `stat` only: its blocks are never read).
 *
 * @returns the number of files whose content was checked
 * @throws {CorruptDataError} naming the first path that differs
 */
export async function checkSampleFiles(root: string, image: SampleImage): Promise<number> {
  for (const [path, want] of Object.entries(image.files)) {
    const got = await digestOf(await Deno.readFile(`${root}${path}`));
    if (got !== want) throw new CorruptDataError(`${path} reads as ${got}, not ${want}`);
  }
  const removed = await Deno.lstat(`${root}${image.removed}`).then(() => true, (err) => {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  });
  if (removed) {
    throw new CorruptDataError(`${image.removed} is there despite the whiteout of the top layer`);
  }
  const { path, size } = image.dataFile;
  const stat = await Deno.stat(`${root}${path}`);
  if (stat.size !== size) throw new CorruptDataError(`${path} has ${stat.size} bytes, not ${size}`);
  return Object.keys(image.files).length;
}
