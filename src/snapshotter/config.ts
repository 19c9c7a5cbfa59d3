import { InvalidArgumentError, NotFoundError } from "../errors.ts";

/** Where upstream's snapshotter reads its config unless told otherwise (spec §10.1). */
export const DEFAULT_SNAPSHOTTER_CONFIG_PATH = "/etc/overlaybd-snapshotter/config.json";

/** How a container's writable layer on an overlaybd image is made (spec §10.1 `rwMode`). */
export type RwMode = "overlayfs" | "dir" | "dev";

/** A registry of `mirrorRegistry`: `insecure` means plain HTTP. */
export interface MirrorRegistry {
  host: string;
  insecure: boolean;
}

/** The snapshotter's config file (spec §10.1), with upstream's key names. */
export interface SnapshotterConfig {
  root: string;
  address: string;
  verbose: string;
  logReportCaller: boolean;
  rwMode: RwMode;
  /**
   * Detach an image's device when the last container using it is removed.
   * Upstream's default is false (keep it until the image is removed); ours
   * is true, since a device costs a loop device and a FUSE file here.
   */
  autoRemoveDev: boolean;
  /** Leave directories of removed snapshots to `cleanup`. */
  asyncRemove: boolean;
  writableLayerType: "append" | "sparse";
  mirrorRegistry: MirrorRegistry[];
  defaultFsType: string;
  rootfsQuota: string;
  tenant: number;
  turboFsType: string[];
  runtimeType: string;
  exporterConfig: { enable: boolean; uriPrefix: string; port: number };
}

/** Defaults of spec §10.1 (but see {@linkcode SnapshotterConfig.autoRemoveDev}). */
export function defaultSnapshotterConfig(): SnapshotterConfig {
  return {
    root: "/var/lib/containerd/io.containerd.snapshotter.v1.overlaybd",
    address: "/run/overlaybd-snapshotter/overlaybd.sock",
    verbose: "info",
    logReportCaller: false,
    rwMode: "overlayfs",
    autoRemoveDev: true,
    asyncRemove: false,
    writableLayerType: "append",
    mirrorRegistry: [],
    defaultFsType: "ext4",
    rootfsQuota: "",
    tenant: -1,
    turboFsType: ["erofs", "ext4"],
    runtimeType: "containerd",
    exporterConfig: { enable: false, uriPrefix: "/metrics", port: 9863 },
  };
}

type Json = Record<string, unknown>;

function fail(what: string, key: string, want: string, got: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${what}: ${key} must be ${want}, got ${JSON.stringify(got)}`);
}

function pick<T>(o: Json, key: string, kind: string, fallback: T, what: string, at = key): T {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  const actual: string = typeof v;
  if (actual !== kind) throw fail(what, at, `a ${kind}`, v);
  return v as T;
}

function oneOf<T extends string>(
  o: Json,
  key: string,
  allowed: readonly T[],
  fallback: T,
  what: string,
): T {
  const v = pick<string>(o, key, "string", fallback, what);
  if (v === "") return fallback;
  if (!allowed.includes(v as T)) throw fail(what, key, `one of ${allowed.join(", ")}`, v);
  return v as T;
}

function mirrors(v: unknown, what: string): MirrorRegistry[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail(what, "mirrorRegistry", "an array", v);
  return v.map((m, i) => {
    const at = `mirrorRegistry[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      throw fail(what, at, "an object", m);
    }
    const host = pick<string>(m as Json, "host", "string", "", what, `${at}.host`);
    if (!host) throw fail(what, `${at}.host`, "a non-empty string", host);
    return {
      host,
      insecure: pick(m as Json, "insecure", "boolean", false, what, `${at}.insecure`),
    };
  });
}

function strings(o: Json, key: string, fallback: string[], what: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw fail(what, key, "an array of strings", v);
  }
  return v as string[];
}

/**
 * Parses the snapshotter config. Unknown keys are ignored and missing keys
 * take the defaults, as upstream's Go decoder does.
 *
 * @param what names the file in error messages
 * @throws {InvalidArgumentError} naming the key whose value is malformed
 */
export function parseSnapshotterConfig(text: string, what: string): SnapshotterConfig {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (cause) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new InvalidArgumentError(`${what} must hold a JSON object`);
  }
  const j = o as Json;
  const d = defaultSnapshotterConfig();
  const exp = j.exporterConfig ?? {};
  if (typeof exp !== "object" || exp === null || Array.isArray(exp)) {
    throw fail(what, "exporterConfig", "an object", exp);
  }
  const e = exp as Json;
  const port = pick(e, "port", "number", d.exporterConfig.port, what, "exporterConfig.port");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw fail(what, "exporterConfig.port", "a TCP port", port);
  }
  const tenant = pick(j, "tenant", "number", d.tenant, what);
  if (!Number.isInteger(tenant)) throw fail(what, "tenant", "an integer", tenant);
  return {
    root: pick(j, "root", "string", d.root, what) || d.root,
    address: pick(j, "address", "string", d.address, what) || d.address,
    verbose: pick(j, "verbose", "string", d.verbose, what) || d.verbose,
    logReportCaller: pick(j, "logReportCaller", "boolean", d.logReportCaller, what),
    rwMode: oneOf(j, "rwMode", ["overlayfs", "dir", "dev"] as const, d.rwMode, what),
    autoRemoveDev: pick(j, "autoRemoveDev", "boolean", d.autoRemoveDev, what),
    asyncRemove: pick(j, "asyncRemove", "boolean", d.asyncRemove, what),
    writableLayerType: oneOf(
      j,
      "writableLayerType",
      ["append", "sparse"] as const,
      d.writableLayerType,
      what,
    ),
    mirrorRegistry: mirrors(j.mirrorRegistry, what),
    defaultFsType: pick(j, "defaultFsType", "string", d.defaultFsType, what) || d.defaultFsType,
    rootfsQuota: pick(j, "rootfsQuota", "string", d.rootfsQuota, what),
    tenant,
    turboFsType: strings(j, "turboFsType", d.turboFsType, what),
    runtimeType: oneOf(j, "runtimeType", ["containerd", "docker"] as const, "containerd", what),
    exporterConfig: {
      enable: pick(e, "enable", "boolean", false, what, "exporterConfig.enable"),
      uriPrefix: pick(
        e,
        "uriPrefix",
        "string",
        d.exporterConfig.uriPrefix,
        what,
        "exporterConfig.uriPrefix",
      ) ||
        d.exporterConfig.uriPrefix,
      port,
    },
  };
}

/**
 * Reads the snapshotter config; a missing file at the default path means
 * all defaults.
 *
 * @throws {NotFoundError} when a file given explicitly does not exist
 * @throws {InvalidArgumentError} when the file is malformed
 */
export async function readSnapshotterConfig(
  path = DEFAULT_SNAPSHOTTER_CONFIG_PATH,
): Promise<SnapshotterConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    if (!(cause instanceof Deno.errors.NotFound)) throw cause;
    if (path === DEFAULT_SNAPSHOTTER_CONFIG_PATH) return defaultSnapshotterConfig();
    throw new NotFoundError(`snapshotter config ${path} does not exist`, { cause });
  }
  return parseSnapshotterConfig(text, path);
}
