import { releaseUnder } from "../device/mod.ts";
import { FailedPreconditionError } from "../errors.ts";
import { type DaemonProcess, spawnDaemon } from "./daemon_process.ts";
import { waitListening } from "./wait_listening.ts";

/** Options of {@linkcode startSnapshotterProcess}. */
export interface SnapshotterProcessOptions {
  /**
   * Its directory: `root/`, `snapshotter.sock`, `cache/`, the configs
   * `config.json` and `overlaybd.json`, and the logs `snapshotter.log`
   * (its stderr) and `overlaybd.log` go here.
   */
  dir: string;
  /** Registries reached over plain HTTP (`mirrorRegistry` with `insecure`). */
  insecureHosts?: string[];
  /** More keys of its config file (spec §10.1), e.g. `{ exporterConfig: { enable: true, port } }`. */
  config?: Record<string, unknown>;
  /** Size cap of its blob cache (`cacheConfig.cacheSizeGB`); the config's default when absent. */
  cacheSizeGB?: number;
  /** How long it may take to serve, per start; default 30 s. */
  timeoutMs?: number;
}

/** `overlaybd snapshotter` of this checkout, running as a child process. */
export interface SnapshotterProcess {
  /** Its `--root`: snapshots, devices, metadata. */
  readonly root: string;
  /** The unix socket containerd's proxy plugin dials. */
  readonly address: string;
  /** Its blob cache: what is in there was fetched from the registry. */
  readonly cacheDir: string;
  /** Its stderr so far, across restarts. */
  log(): Promise<string>;
  /** SIGKILLs it, leaving its mounts and devices as a crash would. */
  kill(): Promise<void>;
  /**
   * Starts it again on the same root, socket and configs (stopping it
   * first if it still runs) and waits until it serves.
   *
   * @throws {FailedPreconditionError} after {@linkcode SnapshotterProcess.close}
   * @throws {UnavailableError} when it does not serve in time
   */
  restart(): Promise<void>;
  /**
   * Stops it (SIGTERM, so it releases its devices; SIGKILL after 10 s),
   * then unmounts and detaches whatever it left below its root. Idempotent.
   *
   * @throws {UnavailableError} when something below its root stays mounted
   */
  close(): Promise<void>;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

class SnapshotterChild implements SnapshotterProcess {
  readonly root: string;
  readonly address: string;
  readonly cacheDir: string;
  #dir: string;
  #timeoutMs: number;
  #daemon?: DaemonProcess;
  #closed?: Promise<void>;

  constructor(options: SnapshotterProcessOptions) {
    this.#dir = options.dir;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.root = `${options.dir}/root`;
    this.address = `${options.dir}/snapshotter.sock`;
    this.cacheDir = `${options.dir}/cache`;
  }

  log(): Promise<string> {
    return Deno.readTextFile(`${this.#dir}/snapshotter.log`).catch(() => "");
  }

  async kill(): Promise<void> {
    await this.#daemon?.kill();
  }

  async restart(): Promise<void> {
    if (this.#closed) throw new FailedPreconditionError(`snapshotter ${this.address} is closed`);
    await this.#daemon?.stop();
    this.#daemon = await spawnDaemon(Deno.execPath(), [
      "run",
      "--allow-all",
      "--quiet",
      MAIN,
      "snapshotter",
      "--root",
      this.root,
      "--address",
      this.address,
      "--config",
      `${this.#dir}/config.json`,
      "--overlaybd-config",
      `${this.#dir}/overlaybd.json`,
    ], `${this.#dir}/snapshotter.log`);
    await waitListening(
      this.#daemon,
      "overlaybd snapshotter",
      { transport: "unix", path: this.address },
      this.#timeoutMs,
    );
  }

  close(): Promise<void> {
    return this.#closed ??= (async () => {
      await this.#daemon?.stop();
      await releaseUnder(this.root);
    })();
  }
}

/**
 * Starts `overlaybd snapshotter` (this checkout's `main.ts`, in a session
 * of its own) with everything in `options.dir`, and waits until it serves
 * on its socket. Its blob cache, log and credentials file stay in the
 * directory too. A failed start cleans up after itself.
 *
 * @throws {UnavailableError} when it does not serve within `timeoutMs`
 */
export async function startSnapshotterProcess(
  options: SnapshotterProcessOptions,
): Promise<SnapshotterProcess> {
  const { dir } = options;
  await Deno.mkdir(dir, { recursive: true });
  const mirrorRegistry = (options.insecureHosts ?? []).map((host) => ({ host, insecure: true }));
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ mirrorRegistry, ...options.config }),
  );
  const sn = new SnapshotterChild(options);
  await Deno.writeTextFile(
    `${dir}/overlaybd.json`,
    JSON.stringify({
      logConfig: { logPath: `${dir}/overlaybd.log` },
      cacheConfig: { cacheType: "file", cacheDir: sn.cacheDir, cacheSizeGB: options.cacheSizeGB },
      credentialConfig: { path: `${dir}/no-credentials.json` },
    }),
  );
  try {
    await sn.restart();
  } catch (err) {
    await sn.close().catch(() => {});
    throw err;
  }
  return sn;
}
