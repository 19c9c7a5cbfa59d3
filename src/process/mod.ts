/**
 * Long-running child processes — a registry, a private containerd,
 * `overlaybd snapshotter` — for the demo, the tests and the benchmarks:
 * start one in a session of its own with its stderr in a log file, wait
 * until it listens, stop it in order (SIGTERM, then SIGKILL) or kill it
 * the hard way; and the host's process table, for the forceful end of a
 * teardown. Daemons of our own claim their socket with `claimSocket`.
 *
 * ```ts ignore
 * const sn = await startSnapshotterProcess({ dir, insecureHosts: ["127.0.0.1:5000"] });
 * try {
 *   // give sn.address to containerd as proxy snapshotter "overlaybd"
 * } finally {
 *   await sn.close(); // SIGTERM, then unmount and detach what it left below its root
 * }
 * ```
 *
 * @module
 */

export { claimSocket } from "./claim_socket.ts";
export { type DaemonProcess, spawnDaemon } from "./daemon_process.ts";
export { findProgram } from "./find_program.ts";
export { freePort } from "./free_port.ts";
export { killPid, processArgs } from "./processes.ts";
export {
  type SnapshotterProcess,
  type SnapshotterProcessOptions,
  startSnapshotterProcess,
} from "./snapshotter_process.ts";
export { type ListenAddress, waitListening } from "./wait_listening.ts";
