/**
 * Test helpers: the forceful part of tearing down a private containerd —
 * shim processes, container processes in their cgroups, mounts under the
 * temporary directory, shim sockets. The production code of
 * `src/containerd/` (which `withContainerd()` runs) under the names the
 * tests use.
 *
 * @module
 */

export {
  killShims,
  leftoverTasks,
  removeShimSocket,
  removeTaskCgroups as removeCgroups,
  shimSocketPath,
} from "../../src/containerd/mod.ts";
export { mountsUnder, unmountUnder } from "../../src/device/mod.ts";
