import type { Image } from "../../ffi/image.ts";

const CHUNK = 1 << 20;

/**
 * Writes the whole view of `image` to `path` as a sparse file: only the
 * runs of data are written, holes and zeroed ranges stay holes. A 64 GiB
 * image holding a few MiB exports in a moment, and tools such as `debugfs`
 * and `e2fsck` can then read the filesystem inside.
 *
 * @returns the number of data bytes written
 */
export async function exportView(image: Image, path: string): Promise<number> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const buf = new Uint8Array(CHUNK);
  let written = 0;
  for (let run = image.nextData(0); run !== null; run = image.nextData(run[1])) {
    await file.seek(run[0], Deno.SeekMode.Start);
    for (let pos = run[0]; pos < run[1]; pos += CHUNK) {
      const n = image.pread(buf.subarray(0, Math.min(CHUNK, run[1] - pos)), pos);
      let done = 0;
      while (done < n) done += await file.write(buf.subarray(done, n));
      written += n;
    }
  }
  await file.truncate(image.size);
  return written;
}
