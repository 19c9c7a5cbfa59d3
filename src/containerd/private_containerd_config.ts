/** Options of {@linkcode privateContainerdConfig}. */
export interface PrivateContainerdConfigOptions {
  /** Proxy snapshotters to register: name → unix socket of its gRPC server. */
  proxySnapshotters?: Record<string, string>;
  /** containerd's log level (`[debug] level`); default `info`. */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** More TOML, appended as is. */
  extraConfig?: string;
}

/** Plugins a private containerd never needs: CRI above all (it wants CNI and a sandbox image). */
const DISABLED_PLUGINS = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  // "opt" would create /opt/containerd outside the directory.
  "io.containerd.internal.v1.opt",
];

/**
 * The config.toml (version 2) of a containerd that keeps root, state and
 * sockets in `dir` and serves no metrics or debug socket.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { privateContainerdConfig } from "./private_containerd_config.ts";
 * const toml = privateContainerdConfig("/d", { proxySnapshotters: { overlaybd: "/d/sn.sock" } });
 * assert.match(toml, /^state = "\/d\/state"$/m);
 * assert.match(toml, /\[proxy_plugins\.overlaybd\]\n {2}type = "snapshot"/);
 * ```
 */
export function privateContainerdConfig(
  dir: string,
  options: PrivateContainerdConfigOptions = {},
): string {
  const lines = [
    "version = 2",
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    `disabled_plugins = [${DISABLED_PLUGINS.map((p) => `"${p}"`).join(", ")}]`,
    "[grpc]",
    `  address = "${dir}/containerd.sock"`,
    "[ttrpc]",
    `  address = "${dir}/containerd.sock.ttrpc"`,
    "[debug]",
    '  address = ""',
    `  level = "${options.logLevel ?? "info"}"`,
    "[metrics]",
    '  address = ""',
  ];
  for (const [name, socket] of Object.entries(options.proxySnapshotters ?? {})) {
    lines.push(`[proxy_plugins.${name}]`, '  type = "snapshot"', `  address = "${socket}"`);
  }
  if (options.extraConfig) lines.push(options.extraConfig);
  return lines.join("\n") + "\n";
}
