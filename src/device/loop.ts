import { FailedPreconditionError, InvalidArgumentError } from "../errors.ts";
import { runTool } from "./_run.ts";

/** Options of {@linkcode attachLoop}. */
export interface LoopOptions {
  /** Attach read-only (`losetup --read-only`). */
  readOnly: boolean;
  /** Read-ahead of the loop device in KiB (its `queue/read_ahead_kb`); the kernel's when absent. */
  readAheadKb?: number;
}

/** A loop device attached to a file. */
export interface LoopDevice {
  /** `/dev/loopN`. */
  device: string;
  /**
   * Whether the kernel kept direct I/O on. Off means every read is cached twice
   * and reaches a FUSE file as serialised 128 KiB requests.
   */
  directIo: boolean;
}

const LOOP_NAME = /^\/dev\/(loop\d+)$/;
/** How long {@linkcode detachLoop} waits for a deferred detach (udev may hold the device). */
const DETACH_WAIT_MS = 2000;

function sysfsName(device: string): string {
  const m = LOOP_NAME.exec(device);
  if (!m) throw new InvalidArgumentError(`not a loop device: ${device}`);
  return `/sys/block/${m[1]}`;
}

async function readSysfs(path: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Attaches a free loop device to `file` with direct I/O and 512-byte
 * sectors, as `losetup --find --show --direct-io=on --sector-size 512` does.
 * If setting the read-ahead fails, the device is detached again.
 *
 * @throws {UnavailableError} when losetup fails (no free device, file not readable)
 */
export async function attachLoop(file: string, options: LoopOptions): Promise<LoopDevice> {
  const args = ["--find", "--show", "--direct-io=on", "--sector-size", "512"];
  if (options.readOnly) args.push("--read-only");
  const out = await runTool("losetup", [...args, file], `attach a loop device to ${file}`);
  const device = out.trim();
  try {
    const sys = sysfsName(device);
    if (options.readAheadKb !== undefined) {
      await Deno.writeTextFile(`${sys}/queue/read_ahead_kb`, `${options.readAheadKb}\n`);
    }
    return { device, directIo: (await readSysfs(`${sys}/loop/dio`)) === "1" };
  } catch (err) {
    await detachLoop(device).catch(() => {/* the first error is the one to report */});
    throw err;
  }
}

/** The file a loop device is attached to, or undefined when it is free. */
export async function loopBackingFile(device: string): Promise<string | undefined> {
  return await readSysfs(`${sysfsName(device)}/loop/backing_file`);
}

/**
 * Detaches a loop device and waits until the kernel has let go of its file.
 * A device still open is only marked to clear on its last close; with
 * `wait: false` that is enough (the caller cannot make its users let go).
 *
 * @throws {FailedPreconditionError} when the device stays attached (still mounted or open)
 * @throws {UnavailableError} when losetup fails
 */
export async function detachLoop(device: string, options = { wait: true }): Promise<void> {
  await runTool("losetup", ["--detach", device], `detach ${device}`);
  if (!options.wait) return;
  // A device that is still open is only marked to clear on its last close.
  const deadline = Date.now() + DETACH_WAIT_MS;
  while ((await loopBackingFile(device)) !== undefined) {
    if (Date.now() > deadline) {
      throw new FailedPreconditionError(`detach ${device}: still open, detach deferred`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
