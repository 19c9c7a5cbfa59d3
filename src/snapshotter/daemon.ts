import { readGlobalConfig } from "../config/mod.ts";
import { serveGrpc } from "../grpc/mod.ts";
import { claimSocket } from "../process/mod.ts";
import {
  createSnapshotterMetrics,
  instrumentMethods,
  type MetricsServer,
  serveMetrics,
} from "../metrics/mod.ts";
import { readSnapshotterConfig, type SnapshotterConfig } from "./config.ts";
import { openSnapshotDevices } from "./devices.ts";
import { snapshotsMethods } from "./grpc_service.ts";
import { openSnapshotter } from "./open_snapshotter.ts";

/** Options of {@linkcode runSnapshotter}; flags beat the config file. */
export interface SnapshotterDaemonOptions {
  /** The snapshotter config (spec §10.1); default `/etc/overlaybd-snapshotter/config.json`. */
  configPath?: string;
  /** State directory (`root`). */
  root?: string;
  /** Unix socket containerd's proxy plugin dials (`address`). */
  address?: string;
  /** The data plane's global config (spec §6): cache, credentials, download. */
  overlaybdConfigPath?: string;
  /** Log lines go here (default: stderr with a timestamp). */
  log?: (line: string) => void;
}

/** The effective config: the file, then `--root` / `--address`. */
export async function snapshotterConfigOf(
  options: SnapshotterDaemonOptions,
): Promise<SnapshotterConfig> {
  const config = await readSnapshotterConfig(options.configPath);
  if (options.root) config.root = options.root;
  if (options.address) config.address = options.address;
  return config;
}

/**
 * `overlaybd snapshotter`: containerd's proxy snapshotter. Serves the
 * snapshots API on `address`, keeps snapshots and devices under `root`
 * (a restart finds them again), and optionally exports Prometheus metrics.
 * Runs until SIGTERM or SIGINT, then stops serving, lets calls in flight
 * finish and releases every device.
 */
export async function runSnapshotter(options: SnapshotterDaemonOptions): Promise<void> {
  const log = options.log ??
    ((line: string) => console.error(`${new Date().toISOString()} overlaybd snapshotter: ${line}`));
  const config = await snapshotterConfigOf(options);
  const global = await readGlobalConfig(options.overlaybdConfigPath);
  await claimSocket(
    config.address,
    `a snapshotter already listens on ${config.address}: stop it or choose another --address`,
  );
  await Deno.mkdir(config.root, { recursive: true });

  const devices = await openSnapshotDevices(global, `${config.root}/devices`, log);
  const snapshotter = await openSnapshotter({ root: config.root, config, devices, log })
    .catch(async (err) => {
      await devices.close();
      throw err;
    });
  const metrics = createSnapshotterMetrics({
    registryBytesFetched: () => devices.bytesFetched(),
    blobCache: () => devices.cacheStats(),
  });
  const grpc = serveGrpc(
    { path: config.address },
    instrumentMethods(snapshotsMethods(snapshotter), metrics),
  );
  let http: MetricsServer | undefined;
  if (config.exporterConfig.enable) http = serveMetrics(metrics, config.exporterConfig);
  log(`serving ${config.address}, root ${config.root}, rwMode ${config.rwMode}`);

  const stopped = Promise.withResolvers<void>();
  const onSignal = () => stopped.resolve();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    await stopped.promise;
    log("stopping");
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
    metrics.setAlive(false);
    await grpc.close();
    await http?.close();
    await snapshotter.close();
    await devices.close();
    await Deno.remove(config.address).catch(() => {/* already gone */});
    log("stopped");
  }
}
