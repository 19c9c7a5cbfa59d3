import { runTool } from "./_run.ts";
import { readMountTable } from "./mount_table.ts";

/** Options of {@linkcode mountExt4}. */
export interface MountOptions {
  /** Mount read-only without replaying the journal (`ro,noload`), so nothing is written. */
  readOnly: boolean;
}

/**
 * Mounts the ext4 filesystem on `device` at `dir`.
 *
 * @throws {UnavailableError} when mount fails (not ext4, damaged, dir missing)
 */
export async function mountExt4(device: string, dir: string, options: MountOptions): Promise<void> {
  const opts = options.readOnly ? "ro,noload" : "rw";
  await runTool("mount", ["-t", "ext4", "-o", opts, device, dir], `mount ${device} on ${dir}`);
}

/**
 * Unmounts `dir`.
 *
 * @throws {UnavailableError} when umount fails (busy, not mounted)
 */
export async function unmount(dir: string): Promise<void> {
  await runTool("umount", [dir], `unmount ${dir}`);
}

/** Where `source` (a device path) is mounted; empty when nowhere. */
export async function mountpointsOf(source: string): Promise<string[]> {
  return (await readMountTable()).filter((m) => m.source === source).map((m) => m.mountpoint);
}
