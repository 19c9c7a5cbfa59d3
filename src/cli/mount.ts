import type { Command } from "commander";
import { InvalidArgumentError, NotFoundError, UnavailableError } from "../errors.ts";
import { parseReference } from "../registry/mod.ts";
import {
  callDaemon,
  daemonStarter,
  DEFAULT_RUN_DIR,
  forceUnmount,
  readState,
  runMountDaemon,
  waitForDaemonExit,
} from "../mount/mod.ts";

function parseCacheSize(value: string): number {
  const n = Number(value);
  if (!(n > 0)) {
    throw new InvalidArgumentError(
      `--cache-size-gb must be a positive number of GiB, got '${value}'`,
    );
  }
  return n;
}

/** The cache flags of `mount`, passed on to the daemon it starts. */
function cacheFlags(opts: { cacheDir?: string; cacheSizeGb?: number }): string[] {
  return [
    ...(opts.cacheDir ? ["--cache-dir", opts.cacheDir] : []),
    ...(opts.cacheSizeGb ? ["--cache-size-gb", String(opts.cacheSizeGb)] : []),
  ];
}

/** `overlaybd mount`, `umount` and the daemon behind them, `mountd`. */
export function registerMount(program: Command): void {
  program.command("mount")
    .summary("mount an overlaybd image, reading its blocks lazily")
    .description(
      "Mount the ext4 filesystem of an overlaybd image on DIR. SOURCE is an image reference\n" +
        "(registry/repository:tag, whose layers are fetched on demand with HTTP Range requests\n" +
        "into the blob cache) or a config.v1.json (spec §5). The device is served by the mount\n" +
        "daemon, started on demand, until 'overlaybd umount DIR'.",
    )
    .argument("<source>", "image reference or config.v1.json")
    .argument("<dir>", "existing directory to mount on")
    .option("--plain", "talk plain HTTP to the registry")
    .option("--insecure", "accept any TLS certificate from the registry")
    .option("-u, --user <user:password>", "registry credentials")
    .option("--platform <os/arch>", "platform of a multi-arch image (default linux/amd64)")
    .option("--config <file>", "global config (spec §6)", "/etc/overlaybd/overlaybd.json")
    .option("--run-dir <dir>", "daemon socket, FUSE directory and state", DEFAULT_RUN_DIR)
    .option(
      "--cache-dir <dir>",
      "blob cache directory (cacheConfig.cacheDir), when this starts the daemon",
    )
    .option(
      "--cache-size-gb <n>",
      "blob cache capacity in GiB (cacheConfig.cacheSizeGB), likewise",
      parseCacheSize,
    )
    .action(async (source: string, dir: string, opts) => {
      // Catch the usual mistakes here, before a daemon is started for nothing.
      if (!source.endsWith(".json")) parseReference(source);
      const info = await Deno.stat(dir).catch(() => undefined);
      if (!info?.isDirectory) {
        throw new NotFoundError(`mount point ${dir} is not an existing directory: create it first`);
      }
      const { mount } = await callDaemon(
        opts.runDir,
        {
          op: "mount",
          source,
          dir,
          plain: opts.plain,
          insecure: opts.insecure,
          user: opts.user,
          platform: opts.platform,
        },
        daemonStarter(opts.runDir, opts.config, cacheFlags(opts)),
      );
      console.error(`mounted ${source} on ${mount?.dir} (${mount?.loopDevice}, read-only)`);
    });

  program.command("umount")
    .summary("unmount what 'overlaybd mount' mounted")
    .description(
      "Unmount DIR, detach its loop device and release the image. If the mount daemon is gone,\n" +
        "clean up what it left (filesystem, loop device, FUSE directory) from its state file.",
    )
    .argument("<dir>", "mounted directory")
    .option("--run-dir <dir>", "daemon socket, FUSE directory and state", DEFAULT_RUN_DIR)
    .action(async (dir: string, opts) => {
      const real = await Deno.realPath(dir).catch(() => dir);
      try {
        const reply = await callDaemon(opts.runDir, { op: "umount", dir: real });
        if (reply.stopping) await waitForDaemonExit(opts.runDir);
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        await forceUnmount(opts.runDir, await readState(opts.runDir, real));
      }
      console.error(`unmounted ${real}`);
    });

  program.command("mountd")
    .summary("the daemon behind 'overlaybd mount' (started on demand)")
    .description(
      "Serve overlaybd devices for 'overlaybd mount': owns the blob cache, the FUSE session and\n" +
        "the loop devices, listens on RUN_DIR/mountd.sock, exits when the last mount is gone or\n" +
        "on SIGTERM. 'overlaybd mount' starts it when it is not running.",
    )
    .option("--config <file>", "global config (spec §6)", "/etc/overlaybd/overlaybd.json")
    .option("--run-dir <dir>", "socket, FUSE directory and state", DEFAULT_RUN_DIR)
    .option("--cache-dir <dir>", "blob cache directory (overrides cacheConfig.cacheDir)")
    .option(
      "--cache-size-gb <n>",
      "blob cache capacity in GiB (overrides cacheConfig.cacheSizeGB)",
      parseCacheSize,
    )
    .action(async (opts) => {
      await runMountDaemon({
        runDir: opts.runDir,
        configPath: opts.config,
        cache: { cacheDir: opts.cacheDir, cacheSizeGB: opts.cacheSizeGb },
      });
    });
}
