import { UnavailableError } from "../errors.ts";
import { spawnDaemon } from "./daemon_process.ts";
import { detachLoopsUnder, unmountUnder } from "./host_cleanup.ts";

/** `overlaybd snapshotter` running as a child of the demo. */
export interface SnapshotterProcess {
  /** The unix socket containerd's proxy plugin dials. */
  address: string;
  /** Its blob cache: what is in there was fetched from the registry. */
  cacheDir: string;
  /** Its log so far. */
  log(): Promise<string>;
  /** Stops it (SIGTERM: it releases its devices), then removes any mount or loop device left. Idempotent. */
  close(): Promise<void>;
}

async function waitForSocket(path: string, exited: () => boolean, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (!exited() && Date.now() < until) {
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

/**
 * Starts `overlaybd snapshotter` (this checkout's) with its root, socket,
 * configs, blob cache and log in `dir`, reaching the registries
 * `insecureHosts` over plain HTTP, and waits until it serves. A failed
 * start cleans up after itself.
 *
 * @throws {UnavailableError} when it does not serve within 30 s
 */
export async function startSnapshotter(
  dir: string,
  insecureHosts: string[],
): Promise<SnapshotterProcess> {
  const [root, address, cacheDir] = [`${dir}/root`, `${dir}/snapshotter.sock`, `${dir}/cache`];
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ mirrorRegistry: insecureHosts.map((host) => ({ host, insecure: true })) }),
  );
  await Deno.writeTextFile(
    `${dir}/overlaybd.json`,
    JSON.stringify({
      logConfig: { logPath: `${dir}/overlaybd.log` },
      cacheConfig: { cacheDir },
      credentialConfig: { path: `${dir}/no-credentials.json` },
    }),
  );
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const daemon = await spawnDaemon(Deno.execPath(), [
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
    `${dir}/config.json`,
    "--overlaybd-config",
    `${dir}/overlaybd.json`,
  ], `${dir}/snapshotter.log`);
  let closed: Promise<void> | undefined;
  const snapshotter: SnapshotterProcess = {
    address,
    cacheDir,
    log: () => daemon.log(),
    close: () =>
      closed ??= (async () => {
        await daemon.stop();
        await unmountUnder(root);
        await detachLoopsUnder(root);
        await unmountUnder(root);
      })(),
  };
  if (!(await waitForSocket(address, () => daemon.exited(), 30_000))) {
    await snapshotter.close();
    const tail = (await daemon.log()).trim().split("\n").slice(-3).join(" | ");
    throw new UnavailableError(`overlaybd snapshotter did not serve on ${address}: ${tail}`);
  }
  return snapshotter;
}
