import { DEFAULT_DOWNLOAD, type DownloadConfig, parseDownload } from "./download_config.ts";
import { NotFoundError } from "../errors.ts";
import { field, object, parseObject, readText } from "./_json.ts";

/** Where the global config lives unless a flag says otherwise (spec §6). */
export const DEFAULT_GLOBAL_CONFIG_PATH = "/etc/overlaybd/overlaybd.json";

/** The keys of `/etc/overlaybd/overlaybd.json` this program uses (spec §6), with upstream's names. */
export interface GlobalConfig {
  logConfig: { logLevel: number; logPath: string };
  cacheConfig: { cacheType: string; cacheDir: string; cacheSizeGB: number; refillSize: number };
  credentialConfig: { mode: string; path: string };
  download: DownloadConfig;
  prefetchConfig: { concurrency: number };
  exporterConfig: { enable: boolean; uriPrefix: string; port: number };
  userAgent: string;
}

/** Upstream's defaults (spec §6). */
export function defaultGlobalConfig(): GlobalConfig {
  return {
    logConfig: { logLevel: 1, logPath: "/var/log/overlaybd.log" },
    cacheConfig: {
      cacheType: "file",
      cacheDir: "/opt/overlaybd/registry_cache",
      cacheSizeGB: 4,
      refillSize: 262144,
    },
    credentialConfig: { mode: "file", path: "/opt/overlaybd/cred.json" },
    download: { ...DEFAULT_DOWNLOAD },
    prefetchConfig: { concurrency: 16 },
    exporterConfig: { enable: false, uriPrefix: "/metrics", port: 9863 },
    userAgent: "overlaybd",
  };
}

/**
 * Parses the global config. Missing keys take the defaults; the legacy
 * top-level keys (`logLevel`, `logPath`, `cacheType`, `registryCacheDir`,
 * `registryCacheSizeGB`, `credentialFilePath`) are honoured where the
 * grouped keys are absent or empty, as upstream does.
 */
export function parseGlobalConfig(text: string, what: string): GlobalConfig {
  const o = parseObject(text, what);
  const d = defaultGlobalConfig();
  const log = object(o, "logConfig", what);
  const cache = object(o, "cacheConfig", what);
  const cred = object(o, "credentialConfig", what);
  const prefetch = object(o, "prefetchConfig", what);
  const exporter = object(o, "exporterConfig", what);
  const legacy = (key: string, kind: "string" | "number", fallback: string | number) =>
    field(o, key, kind, fallback, what);
  const logPath = field(log, "logPath", "string", "", `${what}: logConfig`);
  const credMode = field(cred, "mode", "string", "", `${what}: credentialConfig`);
  return {
    logConfig: {
      logLevel: field(
        log,
        "logLevel",
        "number",
        legacy("logLevel", "number", 1) as number,
        `${what}: logConfig`,
      ),
      logPath: logPath || (legacy("logPath", "string", d.logConfig.logPath) as string),
    },
    cacheConfig: {
      cacheType: field(cache, "cacheType", "string", "", `${what}: cacheConfig`) ||
        (legacy("cacheType", "string", "file") as string),
      cacheDir: field(cache, "cacheDir", "string", "", `${what}: cacheConfig`) ||
        (legacy("registryCacheDir", "string", d.cacheConfig.cacheDir) as string),
      cacheSizeGB: field(cache, "cacheSizeGB", "number", 0, `${what}: cacheConfig`) ||
        (legacy("registryCacheSizeGB", "number", d.cacheConfig.cacheSizeGB) as number),
      refillSize: field(
        cache,
        "refillSize",
        "number",
        d.cacheConfig.refillSize,
        `${what}: cacheConfig`,
      ),
    },
    credentialConfig: credMode
      ? { mode: credMode, path: field(cred, "path", "string", "", `${what}: credentialConfig`) }
      : {
        mode: "file",
        path: legacy("credentialFilePath", "string", d.credentialConfig.path) as string,
      },
    download: parseDownload(object(o, "download", what), `${what}: download`, d.download),
    prefetchConfig: {
      concurrency: field(
        prefetch,
        "concurrency",
        "number",
        d.prefetchConfig.concurrency,
        `${what}: prefetchConfig`,
      ),
    },
    exporterConfig: {
      enable: field(exporter, "enable", "boolean", false, `${what}: exporterConfig`),
      uriPrefix: field(
        exporter,
        "uriPrefix",
        "string",
        d.exporterConfig.uriPrefix,
        `${what}: exporterConfig`,
      ),
      port: field(exporter, "port", "number", d.exporterConfig.port, `${what}: exporterConfig`),
    },
    userAgent: field(o, "userAgent", "string", d.userAgent, what),
  };
}

/** Reads the global config; a missing file at the default path means all defaults. */
export async function readGlobalConfig(path = DEFAULT_GLOBAL_CONFIG_PATH): Promise<GlobalConfig> {
  try {
    return parseGlobalConfig(await readText(path, "global config"), path);
  } catch (err) {
    if (path === DEFAULT_GLOBAL_CONFIG_PATH && err instanceof NotFoundError) {
      return defaultGlobalConfig();
    }
    throw err;
  }
}
