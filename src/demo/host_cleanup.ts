/**
 * The forceful end of a teardown: what is left on the host when a daemon
 * did not shut down cleanly — mounts, loop devices, processes, cgroups.
 * Every function is best effort and may run again.
 *
 * @module
 */

/** Arguments of every process, by pid (processes that vanish meanwhile are skipped). */
export async function processArgs(): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const raw = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      out.set(Number(e.name), raw.split("\0").filter((a) => a));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** SIGKILLs `pid` unless it is gone. */
export function killPid(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* exited meanwhile */ }
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const table = await Deno.readTextFile("/proc/self/mounts");
  const points = table.split("\n").map((line) => line.split(" ")[1])
    .filter((p): p is string => p !== undefined)
    // /proc/self/mounts writes space, tab, newline and backslash as octal escapes.
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.split("/").length - a.split("/").length);
}

/** Lazily unmounts everything at or below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await new Deno.Command("umount", { args: ["-l", point], stdout: "null", stderr: "null" })
      .output();
  }
}

/** Detaches the loop devices whose backing file lies below `dir`. */
export async function detachLoopsUnder(dir: string): Promise<void> {
  const out = await new Deno.Command("losetup", {
    args: ["--list", "--noheadings", "--raw", "-O", "NAME,BACK-FILE"],
    stdout: "piped",
    stderr: "null",
  }).output();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const [name, back] = line.split(" ");
    if (name && back?.startsWith(`${dir}/`)) {
      await new Deno.Command("losetup", { args: ["-d", name], stderr: "null" }).output();
    }
  }
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
 * Kills every process in the cgroup `group` (a path below the cgroup
 * root, `/NAMESPACE/ID` as runc names a container of containerd's) and
 * removes it, in each cgroup v1 hierarchy and in the v2 tree.
 */
export async function removeCgroup(group: string): Promise<void> {
  const roots = ["/sys/fs/cgroup"];
  try {
    for await (const e of Deno.readDir("/sys/fs/cgroup")) {
      if (e.isDirectory) roots.push(`/sys/fs/cgroup/${e.name}`);
    }
  } catch { /* no cgroup fs */ }
  const trees = await Promise.all(roots.map((r) => treeDeepestFirst(`${r}${group}`)));
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
