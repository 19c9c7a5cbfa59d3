import { killPid } from "../process/mod.ts";

/** Each cgroup v1 hierarchy and the v2 tree (`/sys/fs/cgroup` itself). */
async function cgroupRoots(): Promise<string[]> {
  const roots = ["/sys/fs/cgroup"];
  try {
    for await (const e of Deno.readDir("/sys/fs/cgroup")) {
      if (e.isDirectory) roots.push(`/sys/fs/cgroup/${e.name}`);
    }
  } catch { /* no cgroup fs */ }
  return roots;
}

/** Directories below `root` (included), deepest first; none when it does not exist. */
async function treeDeepestFirst(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<boolean> => {
    try {
      for await (const e of Deno.readDir(d)) if (e.isDirectory) await walk(`${d}/${e.name}`);
    } catch {
      return false;
    }
    out.push(d);
    return true;
  };
  await walk(root);
  return out;
}

/**
 * Kills every process in the cgroup `group` (a path below the cgroup root,
 * `/NAMESPACE/ID` as runc names a container of containerd's) and its
 * children, then removes them, in each v1 hierarchy and in the v2 tree.
 */
export async function removeCgroup(group: string): Promise<void> {
  const trees = await Promise.all(
    (await cgroupRoots()).map((r) => treeDeepestFirst(`${r}${group}`)),
  );
  for (const d of trees.flat()) {
    const procs = await Deno.readTextFile(`${d}/cgroup.procs`).catch(() => "");
    for (const pid of procs.split("\n").filter((p) => p)) killPid(Number(pid));
  }
  for (const d of trees.flat()) {
    // A cgroup goes only once its killed processes are reaped: retry briefly.
    for (let i = 0; i < 50; i++) {
      try {
        await Deno.remove(d);
        break;
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/**
 * Removes the cgroup `group` wherever it is empty, killing nothing: a
 * namespace's cgroup (`/NAMESPACE`) may hold containers of another
 * containerd that uses the same namespace.
 */
export async function removeEmptyCgroup(group: string): Promise<void> {
  for (const root of await cgroupRoots()) await Deno.remove(`${root}${group}`).catch(() => {});
}
