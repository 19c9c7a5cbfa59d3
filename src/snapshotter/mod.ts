/**
 * The overlaybd snapshotter's core: containerd's snapshot semantics over a
 * metadata store (SQLite) and per-snapshot directories, for plain OCI
 * layers (overlayfs, as containerd's own snapshotter) and overlaybd layers
 * (committed as remote snapshots on pull, mounted through a lazily read
 * device with an overlayfs upper, or with a native writable layer in a
 * device of the container's own: `rwMode` dir/dev, `writable_layer.ts`).
 * The gRPC binding lives beside it in `grpc_service.ts`.
 *
 * ```ts ignore
 * const devices = await openSnapshotDevices(await readGlobalConfig(), "/run/overlaybd-snapshotter", log);
 * const sn = await openSnapshotter({ root, config: await readSnapshotterConfig(), devices, log });
 * try {
 *   const mounts = await sn.prepare("k", "", {});
 * } finally {
 *   await sn.close();
 *   await devices.close();
 * }
 * ```
 *
 * @module
 */

export {
  DEFAULT_SNAPSHOTTER_CONFIG_PATH,
  defaultSnapshotterConfig,
  type MirrorRegistry,
  parseSnapshotterConfig,
  readSnapshotterConfig,
  type RwMode,
  type SnapshotterConfig,
} from "./config.ts";
export { type AttachDeviceOptions, openSnapshotDevices, type SnapshotDevices } from "./devices.ts";
export {
  type FieldLookup,
  type Filter,
  parseFilter,
  parseFilters,
  snapshotFields,
} from "./filter.ts";
export { runSnapshotter, type SnapshotterDaemonOptions } from "./daemon.ts";
export { snapshotsMethods } from "./grpc_service.ts";
export * as snapshotLabels from "./labels.ts";
export { openSnapshotter, type SnapshotterOptions } from "./open_snapshotter.ts";
export type {
  MountSpec,
  SnapshotInfo,
  SnapshotKind,
  Snapshotter,
  SnapshotUsage,
} from "./snapshotter.ts";
