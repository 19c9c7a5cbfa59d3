import { runTool } from "./_run.ts";

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

/** Where `source` (a device path) is mounted, from `/proc/self/mounts`; empty when nowhere. */
export async function mountpointsOf(source: string): Promise<string[]> {
  const table = await Deno.readTextFile("/proc/self/mounts");
  return table.split("\n")
    .map((line) => line.split(" "))
    .filter((f) => f[0] === source)
    .map((f) => f[1].replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
}
