import { UnavailableError } from "../errors.ts";
import { type DaemonProcess, spawnDaemon } from "../process/mod.ts";
import { removeContainerdLeftovers } from "./containerd_leftovers.ts";
import {
  privateContainerdConfig,
  type PrivateContainerdConfigOptions,
} from "./private_containerd_config.ts";
import { type CtrOptions, type CtrResult, runCtr } from "./run_ctr.ts";

/** Options of {@linkcode openPrivateContainerd}. */
export interface PrivateContainerdOptions extends PrivateContainerdConfigOptions {
  /**
   * Its directory: `config.toml`, `containerd.log`, `containerd.sock`,
   * `root/`, `state/`, and runc's state and stdio FIFOs of `ctr run`
   * given {@linkcode PrivateContainerd.runFlags}.
   */
  dir: string;
  /** The namespace `ctr()` uses (default `overlaybd-<random>`); cgroups are named after it. */
  namespace?: string;
}

/** Options of {@linkcode PrivateContainerd.ctr}. */
export interface PrivateCtrOptions extends CtrOptions {
  /** Another namespace than the containerd's own. */
  namespace?: string;
}

/**
 * A containerd of our own beside any containerd of the host, for the demo,
 * tests and benchmarks. Give `ctr run` {@linkcode PrivateContainerd.runFlags}
 * so that runc's state and the stdio FIFOs stay in its directory too (ctr
 * leaves FIFOs of a detached container behind when containerd dies).
 */
export interface PrivateContainerd {
  /** Its directory. */
  readonly dir: string;
  /** Its gRPC socket (give it to clients as `unix://` + address, or `--address`). */
  readonly address: string;
  readonly namespace: string;
  /** `--runc-root` and `--fifo-dir` for `ctr run`, both inside the directory. */
  readonly runFlags: string[];
  /** Runs `ctr --address SOCK --namespace NS ARGS…`; a non-zero exit is a result. */
  ctr(args: string[], options?: PrivateCtrOptions): Promise<CtrResult>;
  /** Its log so far. */
  log(): Promise<string>;
  /**
   * Kills and deletes the tasks and containers of every namespace, stops
   * containerd, then removes what a hard stop leaves: shims, container
   * processes and cgroups, mounts and loop devices below its directory,
   * runc state, shim sockets. Idempotent.
   *
   * @throws {UnavailableError} when something below its directory stays mounted
   */
  close(): Promise<void>;
}

/** Lines of a `ctr … ls -q` answer. */
async function listQuiet(ctd: PrivateContainerd, args: string[], namespace?: string) {
  const out = await ctd.ctr([...args, "ls", "-q"], { namespace, timeoutMs: 10_000 });
  return out.stdout.split("\n").filter((l) => l);
}

class Containerd implements PrivateContainerd {
  readonly dir: string;
  readonly address: string;
  readonly namespace: string;
  readonly runFlags: string[];
  #daemon: DaemonProcess;
  #closed?: Promise<void>;

  constructor(dir: string, namespace: string, daemon: DaemonProcess) {
    this.dir = dir;
    this.#daemon = daemon;
    this.address = `${dir}/containerd.sock`;
    this.namespace = namespace;
    this.runFlags = ["--runc-root", `${dir}/runc`, "--fifo-dir", `${dir}/fifo`];
  }

  ctr(args: string[], options: PrivateCtrOptions = {}): Promise<CtrResult> {
    return runCtr(this.address, options.namespace ?? this.namespace, args, options);
  }

  log(): Promise<string> {
    return this.#daemon.log();
  }

  /** Waits until `ctr version` gets an answer, or containerd exits. */
  async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.#daemon.exited()) {
      // ctr waits for the socket up to its connect timeout: short, so an exit is seen soon.
      const probe = await this.ctr(["--connect-timeout", "1s", "version"], { timeoutMs: 5_000 });
      if (probe.code === 0) return;
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const why = this.#daemon.exited() ? "exited" : `not within ${timeoutMs} ms`;
    const tail = (await this.log()).trim().split("\n").slice(-3).join(" | ");
    throw new UnavailableError(`containerd at ${this.address} did not answer (${why}): ${tail}`);
  }

  close(): Promise<void> {
    return this.#closed ??= this.#teardown();
  }

  async #teardown(): Promise<void> {
    let namespaces = [this.namespace];
    try {
      if (!this.#daemon.exited()) {
        const listed = await listQuiet(this, ["namespaces"]).catch(() => []);
        namespaces = [...new Set([this.namespace, ...listed])];
        for (const ns of listed) await this.#deleteContainers(ns);
      }
    } finally {
      await this.#daemon.stop();
      await removeContainerdLeftovers(this.dir, this.address, namespaces);
    }
  }

  async #deleteContainers(namespace: string): Promise<void> {
    for (const id of await listQuiet(this, ["tasks"], namespace).catch(() => [])) {
      await this.ctr(["tasks", "kill", "-s", "SIGKILL", id], { namespace, timeoutMs: 10_000 });
      await this.ctr(["tasks", "delete", "-f", id], { namespace, timeoutMs: 20_000 });
    }
    for (const id of await listQuiet(this, ["containers"], namespace).catch(() => [])) {
      await this.ctr(["containers", "delete", id], { namespace, timeoutMs: 20_000 });
    }
  }
}

/**
 * Starts Debian's `containerd` with everything in `options.dir` (CRI and
 * the other plugins that need more of the host off) and the given proxy
 * snapshotters, in a session of its own, and waits until it answers. A
 * failed start cleans up after itself.
 *
 * @throws {FailedPreconditionError} when containerd is not installed
 * @throws {UnavailableError} when it does not answer within 15 s
 */
export async function openPrivateContainerd(
  options: PrivateContainerdOptions,
): Promise<PrivateContainerd> {
  const { dir } = options;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.toml`, privateContainerdConfig(dir, options));
  const daemon = await spawnDaemon(
    "containerd",
    ["--config", `${dir}/config.toml`],
    `${dir}/containerd.log`,
  );
  const namespace = options.namespace ?? `overlaybd-${crypto.randomUUID().slice(0, 8)}`;
  const ctd = new Containerd(dir, namespace, daemon);
  try {
    await ctd.waitReady(15_000);
  } catch (err) {
    await ctd.close().catch(() => {});
    throw err;
  }
  return ctd;
}
