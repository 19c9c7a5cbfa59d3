import { UnavailableError } from "../errors.ts";
import { killPid, mountsUnder, processArgs, removeCgroup, unmountUnder } from "./host_cleanup.ts";

/**
 * Where containerd 1.6 puts the socket of the shim of task `ns/id`:
 * `/run/containerd/s/` + sha256 of `ADDRESS/NS/ID`, whatever its state directory.
 */
async function shimSocketPath(address: string, ns: string, id: string): Promise<string> {
  const data = new TextEncoder().encode(`${address}/${ns}/${id}`);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return `/run/containerd/s/${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Removes what a containerd in `dir` (gRPC socket `address`) whose tasks
 * of `namespace` did not end cleanly leaves once it is stopped: its shims,
 * the processes and cgroups of those tasks, their shim sockets, the
 * namespace's cgroup, and every mount below `dir`.
 *
 * @throws {UnavailableError} when something below `dir` stays mounted
 */
export async function removeContainerdLeftovers(
  dir: string,
  address: string,
  namespace: string,
): Promise<void> {
  // What a shim or task that did not end cleanly leaves behind.
  for (const [pid, argv] of await processArgs()) {
    const i = argv.indexOf("-address");
    const shim = argv[0]?.split("/").pop()?.startsWith("containerd-shim");
    if (shim && i > 0 && argv[i + 1] === address) killPid(pid);
  }
  const taskDir = `${dir}/state/io.containerd.runtime.v2.task/${namespace}`;
  const leftovers = await Array.fromAsync(Deno.readDir(taskDir)).catch(() => []);
  for (const { name } of leftovers) {
    await removeCgroup(`/${namespace}/${name}`);
    await Deno.remove(await shimSocketPath(address, namespace, name)).catch(() => {});
  }
  await removeCgroup(`/${namespace}`);
  await unmountUnder(dir);
  const left = await mountsUnder(dir);
  if (left.length) throw new UnavailableError(`still mounted after containerd: ${left[0]}`);
}
