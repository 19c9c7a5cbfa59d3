import type { Image } from "../../ffi/image.ts";

const CHUNK = 1 << 20;

function isZero(chunk: Uint8Array): boolean {
  const words = new BigUint64Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 8);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
  return true;
}

/**
 * Writes the whole view of `image` to `path` as a sparse file: chunks that
 * read as zeros become holes. Tools such as `debugfs` and `e2fsck` can then
 * read the filesystem inside.
 */
export async function exportView(image: Image, path: string): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const buf = new Uint8Array(CHUNK);
  for (let pos = 0; pos < image.size; pos += CHUNK) {
    const n = image.pread(buf.subarray(0, Math.min(CHUNK, image.size - pos)), pos);
    if (isZero(buf.subarray(0, n))) continue;
    await file.seek(pos, Deno.SeekMode.Start);
    let done = 0;
    while (done < n) done += await file.write(buf.subarray(done, n));
  }
  await file.truncate(image.size);
}
