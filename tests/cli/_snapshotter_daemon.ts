/**
 * Test helper: `overlaybd snapshotter` as a real child process on a unix
 * socket in a temporary directory, so a test can SIGKILL and restart it;
 * stopped and cleaned up afterwards (mounts under its root, loop devices
 * on its FUSE files) even when the test fails.
 *
 * @module
 */

import { unmountUnder } from "../containerd/_teardown.ts";
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
}

async function waitForSocket(path: string, child: Deno.ChildProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      return;
    } catch {
      if (exited) throw new Error("snapshotter exited before serving");
      if (Date.now() > until) throw new Error(`snapshotter not serving on ${path} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Detaches loop devices whose backing file lies under `dir`. */
async function detachLoopsUnder(dir: string): Promise<void> {
  const out = await new Deno.Command("losetup", {
    args: ["--list", "--noheadings", "--raw", "-O", "NAME,BACK-FILE"],
    stdout: "piped",
    stderr: "null",
  }).output();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const [name, back] = line.split(" ");
    if (name && back?.startsWith(`${dir}/`)) {
      await new Deno.Command("losetup", { args: ["-d", name], stderr: "null" }).output();
    }
  }
}

/**
 * Runs `fn` with an `overlaybd snapshotter` serving in `dir`; stops it with
 * SIGTERM afterwards (SIGKILL after 10 s) and removes what it left.
 */
export async function withSnapshotterDaemon<T>(
  dir: string,
  options: SnapshotterDaemonOptions,
  fn: (daemon: SnapshotterDaemon) => Promise<T>,
): Promise<T> {
  const root = `${dir}/snapshotter`;
  const address = `${dir}/snapshotter.sock`;
  const cacheDir = `${dir}/cache`;
  const logPath = `${dir}/snapshotter.log`;
  const metricsPort = freePort();
  await Deno.writeTextFile(
    `${dir}/snapshotter.json`,
    JSON.stringify({
      mirrorRegistry: (options.insecureHosts ?? []).map((host) => ({ host, insecure: true })),
      exporterConfig: { enable: true, port: metricsPort },
    }),
  );
  await Deno.writeTextFile(
    `${dir}/overlaybd.json`,
    JSON.stringify({ cacheConfig: { cacheType: "file", cacheDir, cacheSizeGB: 1 } }),
  );
  const main = new URL("../../main.ts", import.meta.url).pathname;
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    const log = await Deno.open(logPath, { append: true, create: true, write: true });
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--quiet",
        main,
        "snapshotter",
        "--root",
        root,
        "--address",
        address,
        "--config",
        `${dir}/snapshotter.json`,
        "--overlaybd-config",
        `${dir}/overlaybd.json`,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    child.stderr.pipeTo(log.writable).catch(() => {});
    await waitForSocket(address, child, 20_000);
  };
  const kill = async () => {
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    child = undefined;
  };
  const daemon: SnapshotterDaemon = {
    root,
    address,
    cacheDir,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    kill,
    restart: start,
    log: () => Deno.readTextFile(logPath).catch(() => ""),
  };
  let failed = true;
  try {
    await start();
    const out = await fn(daemon);
    failed = false;
    return out;
  } finally {
    if (child) {
      const c = child;
      c.kill("SIGTERM");
      const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
      await c.status;
      clearTimeout(timer);
    }
    if (failed) console.error(`--- snapshotter log ---\n${await daemon.log()}`);
    await unmountUnder(root);
    await detachLoopsUnder(root);
    await unmountUnder(root);
  }
}
