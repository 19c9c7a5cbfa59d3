import type { Command } from "commander";
import { DEFAULT_SNAPSHOTTER_CONFIG_PATH, runSnapshotter } from "../snapshotter/mod.ts";

/** `overlaybd snapshotter`: the containerd proxy snapshotter daemon. */
export function registerSnapshotter(program: Command): void {
  program.command("snapshotter")
    .summary("run the containerd proxy snapshotter (overlaybd images lazily, others on overlayfs)")
    .description(
      "Serve containerd's snapshots API on a unix socket. overlaybd layers become remote\n" +
        "snapshots whose blocks are fetched on demand; plain OCI layers use overlayfs. Point\n" +
        "containerd at it with\n" +
        "  [proxy_plugins.overlaybd]\n" +
        '    type = "snapshot"\n' +
        '    address = "<the --address socket>"\n' +
        "and pull with 'overlaybd rpull' (or 'ctr image pull --snapshotter overlaybd' for plain\n" +
        "images). Config keys are upstream's (root, address, rwMode, mirrorRegistry, ...);\n" +
        "flags beat the file. Stops on SIGTERM/SIGINT.",
    )
    .option("--root <dir>", "state directory (config key 'root')")
    .option("--address <socket>", "unix socket to serve on (config key 'address')")
    .option("--config <file>", "snapshotter config (spec §10.1)", DEFAULT_SNAPSHOTTER_CONFIG_PATH)
    .option(
      "--overlaybd-config <file>",
      "data-plane config: cache, credentials, download (spec §6)",
      "/etc/overlaybd/overlaybd.json",
    )
    .action(async (opts) => {
      await runSnapshotter({
        root: opts.root,
        address: opts.address,
        configPath: opts.config,
        overlaybdConfigPath: opts.overlaybdConfig,
      });
    });
}
