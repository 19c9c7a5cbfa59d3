/**
 * Test helpers: the forceful part of tearing down a private containerd —
 * what is left when it or its tasks did not shut down cleanly: shim
 * processes, container processes in their cgroups, mounts under the
 * temporary directory, runc state.
 *
 * @module
 */

/** Arguments of every process, by pid (processes that vanish are skipped). */
async function processes(): Promise<Map<number, string[]>> {
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

function kill(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* exited meanwhile */ }
}

/** SIGKILLs every `containerd-shim*` started by the containerd on `address`. */
export async function killShims(address: string): Promise<void> {
  for (const [pid, argv] of await processes()) {
    const name = argv[0]?.split("/").pop() ?? "";
    const i = argv.indexOf("-address");
    if (name.startsWith("containerd-shim") && i > 0 && argv[i + 1] === address) kill(pid);
  }
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const table = await Deno.readTextFile("/proc/self/mounts");
  const points = table.split("\n").map((line) => line.split(" ")[1])
    .filter((p): p is string => p !== undefined)
    // /proc/self/mounts escapes space, tab, newline and backslash as octal.
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.split("/").length - a.split("/").length);
}

/** Lazily unmounts everything mounted at or below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await new Deno.Command("umount", { args: ["-l", point], stdout: "null", stderr: "null" })
      .output();
  }
}

/** Directories below `root` (included), deepest first. */
async function treeDeepestFirst(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    try {
      for await (const e of Deno.readDir(d)) if (e.isDirectory) await walk(`${d}/${e.name}`);
    } catch { /* gone meanwhile */ }
    out.push(d);
  };
  await walk(root);
  return out;
}

/**
 * Kills the processes of the cgroup `/<namespace>/<id>` of each listed
 * container in every cgroup v1 hierarchy (where runc puts a container that
 * `ctr run` made), then removes those cgroups and the cgroups `/<namespace>`
 * of `namespaces` that are empty then.
 */
export async function removeCgroups(
  containers: Array<[string, string]>,
  namespaces: string[],
): Promise<void> {
  const hierarchies: string[] = [];
  try {
    for await (const e of Deno.readDir("/sys/fs/cgroup")) {
      if (e.isDirectory) hierarchies.push(`/sys/fs/cgroup/${e.name}`);
    }
  } catch { /* no cgroup fs */ }
  const groups = containers.flatMap(([ns, id]) => hierarchies.map((h) => `${h}/${ns}/${id}`));
  for (const group of groups) {
    for (const d of await treeDeepestFirst(group)) {
      const procs = await Deno.readTextFile(`${d}/cgroup.procs`).catch(() => "");
      for (const pid of procs.split("\n").filter((p) => p)) kill(Number(pid));
    }
  }
  for (const group of groups) {
    for (const d of await treeDeepestFirst(group)) {
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
  for (const ns of new Set([...namespaces, ...containers.map(([ns]) => ns)])) {
    for (const h of hierarchies) await Deno.remove(`${h}/${ns}`).catch(() => {});
  }
}

/**
 * Containers whose task state the runtime v2 plugin still keeps under the
 * containerd state directory `state`, as [namespace, id].
 */
export async function leftoverTasks(state: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const base = `${state}/io.containerd.runtime.v2.task`;
  try {
    for await (const ns of Deno.readDir(base)) {
      for await (const id of Deno.readDir(`${base}/${ns.name}`)) out.push([ns.name, id.name]);
    }
  } catch { /* no tasks ever */ }
  return out;
}

/**
 * Where containerd 1.6 puts the socket of the shim of task `[namespace, id]`:
 * `/run/containerd/s/` + sha256 of `ADDRESS/NAMESPACE/ID`, whatever its state
 * directory.
 */
export async function shimSocketPath(address: string, [ns, id]: [string, string]): Promise<string> {
  const data = new TextEncoder().encode(`${address}/${ns}/${id}`);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return `/run/containerd/s/${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Removes the socket that a killed shim of task `[namespace, id]` left behind. */
export async function removeShimSocket(address: string, task: [string, string]): Promise<void> {
  await Deno.remove(await shimSocketPath(address, task)).catch(() => {});
}
