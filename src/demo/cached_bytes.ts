/**
 * Bytes the blob cache in `cacheDir` holds: what was fetched from the
 * registry. Each blob is a sparse `.data` file, so its allocated blocks,
 * not its length, count. A missing directory holds nothing.
 */
export async function cachedBytes(cacheDir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(cacheDir)) {
      if (e.isFile && e.name.endsWith(".data")) {
        n += ((await Deno.stat(`${cacheDir}/${e.name}`)).blocks ?? 0) * 512;
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return n;
}
