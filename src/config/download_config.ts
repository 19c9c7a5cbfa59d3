import { field, type JsonObject } from "./_json.ts";

/** Background full download of remote layers (spec §5.4). */
export interface DownloadConfig {
  enable: boolean;
  /** Seconds to wait before starting. */
  delay: number;
  /** Plus a random 0..delayExtra seconds. */
  delayExtra: number;
  /** Throttle in MiB/s; ≤ 0 is unlimited. */
  maxMBps: number;
  /** Attempts per layer. */
  tryCnt: number;
  /** Bytes per request. */
  blockSize: number;
}

/** Upstream's defaults (spec §5.4). */
export const DEFAULT_DOWNLOAD: Readonly<DownloadConfig> = {
  enable: false,
  delay: 300,
  delayExtra: 30,
  maxMBps: 100,
  tryCnt: 5,
  blockSize: 262144,
};

/** Reads a `download` object over `base`; absent keys keep base's values. */
export function parseDownload(
  obj: JsonObject,
  where: string,
  base: DownloadConfig,
): DownloadConfig {
  return {
    enable: field(obj, "enable", "boolean", base.enable, where),
    delay: field(obj, "delay", "number", base.delay, where),
    delayExtra: field(obj, "delayExtra", "number", base.delayExtra, where),
    maxMBps: field(obj, "maxMBps", "number", base.maxMBps, where),
    tryCnt: field(obj, "tryCnt", "number", base.tryCnt, where),
    blockSize: field(obj, "blockSize", "number", base.blockSize, where),
  };
}
