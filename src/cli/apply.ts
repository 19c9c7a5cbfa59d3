import type { Command } from "commander";
import { DEFAULT_GLOBAL_CONFIG_PATH, readDeviceConfig, readGlobalConfig } from "../config/mod.ts";
import { applyLayer } from "../convert/mod.ts";
import { parseGiB } from "./parse.ts";

const PROGRESS_EVERY_MS = 5000;
const MB = 1e6;

/** One stderr line per ~5 s: bytes so far and the rate since the start. */
function progressPrinter(layer: string): (bytes: number) => void {
  const start = performance.now();
  let last = start;
  return (bytes) => {
    const now = performance.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    const rate = bytes / MB / ((now - start) / 1000);
    console.error(`apply ${layer}: ${(bytes / MB).toFixed(0)} MB of tar, ${rate.toFixed(1)} MB/s`);
  };
}

/** `overlaybd apply`: unpack an OCI layer tar into the ext4 of an image, as overlaybd-apply. */
export function registerApply(program: Command): void {
  program.command("apply")
    .summary("apply an OCI layer tar onto an image's ext4 filesystem")
    .description(
      "Unpack LAYER (a tar, tar.gz or tar.zst) into the ext4 filesystem of the image that CONFIG\n" +
        "(a config.v1.json) describes: its lowers, read from local files, and its writable upper\n" +
        "(upper.data + upper.index), which receives every change. Whiteouts (.wh.NAME, .wh..wh..opq)\n" +
        "remove what lower layers had (spec §7.5). --mkfs formats the image first (first layer).\n" +
        "Runs in userspace: no root, no kernel mount. After a failure the writable layer is\n" +
        "incomplete and must be discarded.",
    )
    .argument("<layer>", "layer tar, optionally gzip- or zstd-compressed")
    .argument("<config>", "device config (config.v1.json)")
    .option("--mkfs", "format the image as ext4 first (spec §7.3 parameters)")
    .option("--vsize <gb>", "filesystem size in GiB for --mkfs (default: the image size)", parseGiB)
    .option(
      "--config <path>",
      "global overlaybd.json (read and checked; apply uses local lowers only)",
      DEFAULT_GLOBAL_CONFIG_PATH,
    )
    .action(async (layer: string, config: string, opts) => {
      await readGlobalConfig(opts.config);
      const device = await readDeviceConfig(config);
      const start = performance.now();
      const stats = await applyLayer(layer, device, config, {
        mkfs: opts.mkfs === true,
        fsSize: opts.vsize,
        onProgress: progressPrinter(layer),
      });
      const secs = (performance.now() - start) / 1000;
      console.error(
        `applied ${layer} to ${device.upper.data}: ${stats.entries} entries, ` +
          `${stats.whiteouts} whiteouts, ${(stats.tarBytes / MB).toFixed(1)} MB of tar in ` +
          `${secs.toFixed(1)} s (${(stats.tarBytes / MB / secs).toFixed(1)} MB/s)`,
      );
    });
}
