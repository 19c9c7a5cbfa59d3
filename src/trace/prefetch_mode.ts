import { hasTraceMagic } from "../../ffi/trace.ts";
import type { DeviceConfig } from "../config/mod.ts";
import { InvalidArgumentError } from "../errors.ts";
import { parsePrefetchList } from "./prefetch_list.ts";

/** What a device does about prefetch (spec §8.1). */
export type PrefetchMode =
  | { kind: "none" }
  /** Record the reads into `path` (an empty file when the device opened). */
  | { kind: "record"; path: string }
  /** Replay the trace file read from `path`. */
  | { kind: "replay"; path: string; trace: Uint8Array<ArrayBuffer> }
  /** Prefetch the data of the files a list at `path` names. */
  | { kind: "list"; path: string; paths: string[] };

/** {@linkcode planPrefetch}'s answer. */
export interface PrefetchPlan {
  /** The config to open: with an acceleration layer, its lowers lack the last one. */
  config: DeviceConfig;
  mode: PrefetchMode;
  /** Why a prefetch file was not used, for the log. */
  skipped?: string;
}

/** The file's bytes, or undefined when it does not exist. */
async function readIfExists(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** A non-empty prefetch file: a trace when it has the magic, else a list. */
function classify(path: string, bytes: Uint8Array<ArrayBuffer>): PrefetchMode {
  if (hasTraceMagic(bytes)) return { kind: "replay", path, trace: bytes };
  return { kind: "list", path, paths: parsePrefetchList(bytes) };
}

function fromFile(
  config: DeviceConfig,
  path: string,
  bytes: Uint8Array<ArrayBuffer>,
): PrefetchPlan {
  try {
    return { config, mode: classify(path, bytes) };
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    return { config, mode: { kind: "none" }, skipped: `${path}: ${err.message}` };
  }
}

function dirOf(file: string): string {
  const i = file.lastIndexOf("/");
  return i <= 0 ? "/" : file.slice(0, i);
}

/**
 * Chooses the prefetch mode of a device (spec §8.1) and reads its file:
 * `accelerationLayer` pops the last lower and uses `<its dir>/trace`;
 * `recordTracePath` records when the file is empty and replays (or reads
 * as a prefetch list) when it is not. A missing or empty prefetch file, or
 * a list that is too large, means no prefetch.
 *
 * @throws {InvalidArgumentError} when both keys are set, or an acceleration
 *   layer is the only lower
 */
export async function planPrefetch(config: DeviceConfig): Promise<PrefetchPlan> {
  if (config.accelerationLayer && config.recordTracePath) {
    throw new InvalidArgumentError(
      "device config sets both accelerationLayer and recordTracePath; they exclude each other",
    );
  }
  if (config.accelerationLayer) {
    if (config.lowers.length < 2) {
      throw new InvalidArgumentError(
        `accelerationLayer needs a layer below the acceleration layer; lowers has ${config.lowers.length}`,
      );
    }
    const accel = config.lowers[config.lowers.length - 1];
    const rest = { ...config, lowers: config.lowers.slice(0, -1) };
    const dir = accel.dir ?? (accel.file ? dirOf(accel.file) : undefined);
    const path = dir ? `${dir}/trace` : undefined;
    const bytes = path ? await readIfExists(path) : undefined;
    if (!path || !bytes || bytes.byteLength === 0) return { config: rest, mode: { kind: "none" } };
    return fromFile(rest, path, bytes);
  }
  const path = config.recordTracePath;
  if (!path) return { config, mode: { kind: "none" } };
  const bytes = await readIfExists(path);
  if (!bytes) return { config, mode: { kind: "none" }, skipped: `${path} does not exist` };
  if (bytes.byteLength === 0) return { config, mode: { kind: "record", path } };
  return fromFile(config, path, bytes);
}
