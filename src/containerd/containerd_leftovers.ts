import { releaseUnder } from "../device/mod.ts";
import { killPid, processArgs } from "../process/mod.ts";
import { removeCgroup, removeEmptyCgroup } from "./_cgroups.ts";

/** Where runc keeps container state when `ctr run` is given no `--runc-root`. */
const DEFAULT_RUNC_ROOT = "/run/containerd/runc";

/** A task of containerd: `[namespace, container id]`. */
export type TaskKey = [namespace: string, id: string];

/** SIGKILLs every `containerd-shim*` started by the containerd serving on `address`. */
export async function killShims(address: string): Promise<void> {
  for (const [pid, argv] of await processArgs()) {
    const name = argv[0]?.split("/").pop() ?? "";
    const i = argv.indexOf("-address");
    if (name.startsWith("containerd-shim") && i > 0 && argv[i + 1] === address) killPid(pid);
  }
}

/**
 * The tasks whose state the runtime v2 plugin still keeps under the
 * containerd state directory `state`: those that did not end cleanly.
 */
export async function leftoverTasks(state: string): Promise<TaskKey[]> {
  const out: TaskKey[] = [];
  const base = `${state}/io.containerd.runtime.v2.task`;
  try {
    for await (const ns of Deno.readDir(base)) {
      for await (const id of Deno.readDir(`${base}/${ns.name}`)) out.push([ns.name, id.name]);
    }
  } catch { /* no tasks ever */ }
  return out;
}

/**
 * Where containerd 1.6 puts the socket of the shim of `task`:
 * `/run/containerd/s/` + sha256 of `ADDRESS/NAMESPACE/ID`, whatever its
 * state directory.
 */
export async function shimSocketPath(address: string, [ns, id]: TaskKey): Promise<string> {
  const data = new TextEncoder().encode(`${address}/${ns}/${id}`);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return `/run/containerd/s/${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Removes the socket that a killed shim of `task` left behind. */
export async function removeShimSocket(address: string, task: TaskKey): Promise<void> {
  await Deno.remove(await shimSocketPath(address, task)).catch(() => {});
}

/**
 * Kills the processes of each task's cgroup (`/NAMESPACE/ID`, where runc
 * puts a container that `ctr run` made) and removes it, then removes the
 * cgroup `/NAMESPACE` of each of `namespaces` and of the tasks where it is
 * empty then.
 */
export async function removeTaskCgroups(tasks: TaskKey[], namespaces: string[]): Promise<void> {
  for (const [ns, id] of tasks) await removeCgroup(`/${ns}/${id}`);
  for (const ns of new Set([...namespaces, ...tasks.map(([ns]) => ns)])) {
    await removeEmptyCgroup(`/${ns}`);
  }
}

/**
 * Removes what a stopped containerd in `dir` (gRPC socket `address`) whose
 * tasks did not end cleanly leaves behind: its shims, the processes and
 * cgroups of those tasks, the cgroups of `namespaces`, every mount and
 * loop device below `dir`, runc state kept outside `dir`, shim sockets.
 *
 * @throws {UnavailableError} when something below `dir` stays mounted
 */
export async function removeContainerdLeftovers(
  dir: string,
  address: string,
  namespaces: string[],
): Promise<void> {
  await killShims(address);
  const tasks = await leftoverTasks(`${dir}/state`);
  await removeTaskCgroups(tasks, namespaces);
  try {
    await releaseUnder(dir);
  } finally {
    for (const task of tasks) {
      await Deno.remove(`${DEFAULT_RUNC_ROOT}/${task[0]}/${task[1]}`, { recursive: true })
        .catch(() => {});
      await removeShimSocket(address, task);
    }
  }
}
