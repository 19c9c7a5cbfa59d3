import type { SnapshotUsage } from "./snapshotter.ts";

/**
 * Disk use of the trees under `roots` as containerd counts it: every inode
 * once (hard links and the roots included), size = allocated 512-byte
 * blocks. Paths in `exclude` (and what lies below them) are skipped, and so
 * is any other filesystem mounted below a root. A root that does not exist
 * counts nothing.
 *
 * @example
 * ```ts ignore
 * const { size, inodes } = await diskUsage(["/var/lib/x/snapshots/3/fs"]);
 * ```
 */
export async function diskUsage(
  roots: readonly string[],
  exclude: readonly string[] = [],
): Promise<SnapshotUsage> {
  const seen = new Set<string>();
  const skip = new Set(exclude);
  let size = 0;
  const visit = async (path: string, dev: number | undefined): Promise<void> => {
    if (skip.has(path)) return;
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return; // removed while walking
      throw err;
    }
    if (dev !== undefined && st.dev !== dev) return;
    const key = `${st.dev}:${st.ino}`;
    if (!seen.has(key)) {
      seen.add(key);
      size += (st.blocks ?? 0) * 512;
    }
    if (!st.isDirectory) return;
    for await (const e of Deno.readDir(path)) await visit(`${path}/${e.name}`, st.dev);
  };
  for (const root of roots) await visit(root, undefined);
  return { size, inodes: seen.size };
}
