import { InvalidArgumentError } from "../errors.ts";
import { DEFAULT_DOWNLOAD, type DownloadConfig, parseDownload } from "./download_config.ts";
import { field, type JsonObject, object, parseObject, readText } from "./_json.ts";

/** One read-only layer of a device (spec §5.2), bottom first in {@linkcode DeviceConfig.lowers}. */
export interface LowerConfig {
  /** Local layer file. */
  file?: string;
  /** Layer directory: searched for overlaybd.commit, .commit, overlaybd.sealed; download target. */
  dir?: string;
  /** `sha256:<hex>` of the remote blob. */
  digest?: string;
  /** Blob size in bytes. */
  size?: number;
}

/** The writable layer of a device (spec §5.3). */
export interface UpperConfig {
  index?: string;
  data?: string;
  /** GiB, informational. */
  vsize?: number;
}

/** A device's `config.v1.json` (spec §5.1). */
export interface DeviceConfig {
  repoBlobUrl: string;
  lowers: LowerConfig[];
  upper: UpperConfig;
  resultFile: string;
  /** Absent: the global default applies. */
  download?: DownloadConfig;
  accelerationLayer?: boolean;
  recordTracePath?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function parseLower(v: unknown, where: string): LowerConfig {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new InvalidArgumentError(`${where} must be an object`);
  }
  const o = v as JsonObject;
  const lower: LowerConfig = {};
  const file = field<string>(o, "file", "string", "", where);
  const dir = field<string>(o, "dir", "string", "", where);
  const digest = field<string>(o, "digest", "string", "", where);
  const size = field<number>(o, "size", "number", 0, where);
  if (file) lower.file = file;
  if (dir) lower.dir = dir;
  if (digest) {
    if (!DIGEST.test(digest)) {
      throw new InvalidArgumentError(
        `${where}.digest must be sha256:<64 hex digits>, got '${digest}'`,
      );
    }
    lower.digest = digest;
  }
  if (size) lower.size = size;
  if (!file && !dir && !digest) {
    throw new InvalidArgumentError(`${where} names no layer: give file, dir or digest`);
  }
  return lower;
}

/**
 * Parses a `config.v1.json`. Unknown keys are ignored and missing keys take
 * upstream's defaults, as the reference does (spec §5).
 *
 * @param what names the file in error messages
 * @throws {InvalidArgumentError} when a key has the wrong type or a lower names no layer
 */
export function parseDeviceConfig(text: string, what: string): DeviceConfig {
  const o = parseObject(text, what);
  const lowersValue = o.lowers ?? [];
  if (!Array.isArray(lowersValue)) {
    throw new InvalidArgumentError(`${what}: lowers must be an array`);
  }
  const upperObj = object(o, "upper", what);
  const upper: UpperConfig = {};
  const index = field<string>(upperObj, "index", "string", "", `${what}: upper`);
  const data = field<string>(upperObj, "data", "string", "", `${what}: upper`);
  const vsize = field<number>(upperObj, "vsize", "number", 0, `${what}: upper`);
  if (index) upper.index = index;
  if (data) upper.data = data;
  if (vsize) upper.vsize = vsize;
  const config: DeviceConfig = {
    repoBlobUrl: field(o, "repoBlobUrl", "string", "", what),
    lowers: lowersValue.map((l, i) => parseLower(l, `${what}: lowers[${i}]`)),
    upper,
    resultFile: field(o, "resultFile", "string", "", what),
  };
  if (o.download !== undefined) {
    config.download = parseDownload(
      object(o, "download", what),
      `${what}: download`,
      DEFAULT_DOWNLOAD,
    );
  }
  if (field(o, "accelerationLayer", "boolean", false, what)) config.accelerationLayer = true;
  const trace = field<string>(o, "recordTracePath", "string", "", what);
  if (trace) config.recordTracePath = trace;
  if (config.lowers.some((l) => l.digest && !l.file && !l.dir) && !config.repoBlobUrl) {
    throw new InvalidArgumentError(`${what}: a lower has only a digest but repoBlobUrl is empty`);
  }
  return config;
}

/** Serialises like upstream's Go writer: compact, empty optional keys omitted (spec §5). */
export function serializeDeviceConfig(config: DeviceConfig): string {
  return JSON.stringify(config);
}

/** Reads and parses a `config.v1.json` file. */
export async function readDeviceConfig(path: string): Promise<DeviceConfig> {
  return parseDeviceConfig(await readText(path, "device config"), path);
}
