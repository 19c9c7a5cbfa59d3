/**
 * `overlaybd mount` and `umount`: overlaybd images mounted on directories,
 * their layers read lazily from the registry. A daemon (`overlaybd mountd`,
 * started on demand) owns the blob cache, the FUSE session and every device,
 * so mounts outlive the command and share one cache; the commands talk to
 * it over a unix socket in the run directory.
 *
 * @module
 */

export {
  DeviceService,
  type DeviceServiceParts,
  type MountInfo,
  type MountRequest,
} from "./device_service.ts";
export { deviceConfigForImage } from "./device_config_for_image.ts";
export { forceUnmount } from "./force_unmount.ts";
export { repoBlobUrlOf } from "./image_source.ts";
export { callDaemon, waitForDaemonExit } from "./mount_client.ts";
export { runMountDaemon } from "./mount_daemon.ts";
export { DEFAULT_RUN_DIR, type MountState, readState } from "./mount_state.ts";
export { credentialsFor } from "./registry_pool.ts";
export { daemonStarter } from "./start_daemon.ts";
