import { detachLoop, mountAt, readMountTable, unmount } from "../device/mod.ts";
import { type MountState, removeState } from "./mount_state.ts";

async function isMountpoint(dir: string): Promise<boolean> {
  return mountAt(await readMountTable(), dir) !== undefined;
}

/**
 * Undoes a mount whose daemon is gone (killed, crashed): unmounts the
 * filesystem, detaches the loop device, unmounts the FUSE directory once no
 * device uses it, and forgets the state. Each step is skipped when already
 * undone, so it can run again after a partial failure.
 */
export async function forceUnmount(runDir: string, state: MountState): Promise<void> {
  if (await isMountpoint(state.dir)) await unmount(state.dir);
  // A loop device that other mounts still use (a container's overlay on a
  // bind of the filesystem, say) is marked to clear when they go; its file
  // is dead anyway, so leaving it attached would leak it for good.
  if (state.loopDevice) {
    await detachLoop(state.loopDevice, { wait: false }).catch(() => {/* already detached */});
  }
  if (state.fuseDir && await isMountpoint(state.fuseDir)) {
    await unmount(state.fuseDir).catch(() => {/* still used by another device */});
  }
  await removeState(runDir, state.dir);
}
