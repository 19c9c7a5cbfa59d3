/**
 * Test helper: `overlaybd snapshotter` as a real child process on a unix
 * socket in a temporary directory (`startSnapshotterProcess()` of
 * `src/process/`), so a test can SIGKILL and restart it; stopped and
 * cleaned up afterwards (mounts under its root, loop devices on its FUSE
 * files) even when the test fails, whose output then gets its log.
 *
 * @module
 */

import { type SnapshotterProcess, startSnapshotterProcess } from "../../src/process/mod.ts";
import { freePort } from "../registry/_registry.ts";

/** A running snapshotter daemon. */
export interface SnapshotterDaemon {
  root: string;
  address: string;
  /** Blob cache directory (cacheConfig.cacheDir). */
  cacheDir: string;
  /** Its Prometheus page (exporterConfig on a free port of 127.0.0.1). */
  metricsUrl: string;
  /** SIGKILLs the process (no cleanup of its own). */
  kill(): Promise<void>;
  /** Starts it again on the same root and socket. */
  restart(): Promise<void>;
  /** Its log so far. */
  log(): Promise<string>;
}

/** What the daemon is given. */
export interface SnapshotterDaemonOptions {
  /** Registries reached over plain HTTP (`mirrorRegistry` with `insecure`). */
  insecureHosts?: string[];
  /** More keys of its config file (spec §10.1), e.g. `{ rwMode: "dir" }`. */
  config?: Record<string, unknown>;
}

/**
 * Runs `fn` with an `overlaybd snapshotter` serving from `dir/snapshotter/`;
 * stops it with SIGTERM afterwards (SIGKILL after 10 s) and removes what it
 * left.
 */
export async function withSnapshotterDaemon<T>(
  dir: string,
  options: SnapshotterDaemonOptions,
  fn: (daemon: SnapshotterDaemon) => Promise<T>,
): Promise<T> {
  const snDir = `${dir}/snapshotter`;
  const metricsPort = freePort();
  let sn: SnapshotterProcess | undefined;
  let failed = true;
  try {
    sn = await startSnapshotterProcess({
      dir: snDir,
      insecureHosts: options.insecureHosts,
      config: { exporterConfig: { enable: true, port: metricsPort }, ...options.config },
      cacheSizeGB: 1,
    });
    const s = sn;
    const out = await fn({
      root: s.root,
      address: s.address,
      cacheDir: s.cacheDir,
      metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      kill: () => s.kill(),
      restart: () => s.restart(),
      log: () => s.log(),
    });
    failed = false;
    return out;
  } finally {
    await sn?.close();
    if (failed) {
      const log = await Deno.readTextFile(`${snDir}/snapshotter.log`).catch(() => "");
      console.error(`--- snapshotter log ---\n${log}`);
    }
  }
}
