/**
 * Block devices from images: one FUSE directory per host whose files are
 * images (served by native threads), a loop device with direct I/O on each
 * file, and the ext4 filesystem inside mounted on top. These machines have
 * no TCMU, NBD or ublk, so FUSE + loop is the frontend (ARCHITECTURE.md).
 *
 * The runtime edges — `losetup`, `mount`, `umount` run as subprocesses —
 * sit in `loop.ts` and `mount.ts`; {@linkcode openDeviceHost} owns the FUSE
 * session and the loop devices; {@linkcode mountImage} composes the two and
 * cleans up when the mount fails.
 *
 * The forceful end of a teardown is here too: {@linkcode releaseUnder}
 * lazily unmounts everything below a directory and detaches the loop
 * devices backed by files there, without asking the daemon (snapshotter,
 * containerd) that made them.
 *
 * @module
 */

export {
  type AttachOptions,
  DEFAULT_READ_AHEAD_KB,
  type Device,
  type DeviceHost,
  type DeviceHostOptions,
  openDeviceHost,
} from "./device_host.ts";
export {
  attachLoop,
  detachLoop,
  loopBackingFile,
  type LoopDevice,
  type LoopOptions,
} from "./loop.ts";
export { mountExt4, type MountOptions, mountpointsOf, unmount } from "./mount.ts";
export { mountImage, unmountImage } from "./mount_image.ts";
export {
  mountAt,
  type MountEntry,
  overlaysUsing,
  parseMountInfo,
  readMountTable,
  readMountTableSync,
} from "./mount_table.ts";
export {
  detachLoopsUnder,
  loopsUnder,
  mountsUnder,
  releaseUnder,
  unmountUnder,
} from "./release_under.ts";
