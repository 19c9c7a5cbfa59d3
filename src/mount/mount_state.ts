/**
 * What a running mount leaves on disk so that `overlaybd umount DIR`, run
 * later from another process, can find the process serving DIR and undo
 * what it set up even if that process died.
 *
 * @module
 */

import { NotFoundError } from "../errors.ts";

/** Default directory of mount state files. */
export const DEFAULT_RUN_DIR = "/run/overlaybd";

/** One mount, as recorded by the process serving it. */
export interface MountState {
  /** The mounted directory (absolute). */
  dir: string;
  /** Process serving the device. */
  pid: number;
  /** What was mounted: a config path or an image reference. */
  source: string;
  /** The FUSE directory holding the device file, and the loop device on it. */
  fuseDir: string;
  loopDevice: string;
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The state file of the mount at `dir` (absolute path). */
export async function statePath(runDir: string, dir: string): Promise<string> {
  return `${runDir}/mounts/${(await sha256Hex(dir)).slice(0, 16)}.json`;
}

/** Writes `state` atomically (temporary file + rename). */
export async function writeState(runDir: string, state: MountState): Promise<void> {
  const path = await statePath(runDir, state.dir);
  await Deno.mkdir(`${runDir}/mounts`, { recursive: true });
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(state, null, 2));
  await Deno.rename(`${path}.tmp`, path);
}

/**
 * The state of the mount at `dir`.
 *
 * @throws {NotFoundError} when no overlaybd mount is recorded there
 */
export async function readState(runDir: string, dir: string): Promise<MountState> {
  try {
    return JSON.parse(await Deno.readTextFile(await statePath(runDir, dir))) as MountState;
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`no overlaybd mount is recorded at ${dir}`, { cause });
    }
    throw cause;
  }
}

/** Forgets the mount at `dir`; a missing record is fine. */
export async function removeState(runDir: string, dir: string): Promise<void> {
  try {
    await Deno.remove(await statePath(runDir, dir));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
