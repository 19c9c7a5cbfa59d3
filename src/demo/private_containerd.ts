import { UnavailableError } from "../errors.ts";
import { type DaemonProcess, spawnDaemon } from "./daemon_process.ts";
import { removeContainerdLeftovers } from "./containerd_leftovers.ts";

/** Options of {@linkcode openPrivateContainerd}. */
export interface PrivateContainerdOptions {
  /** Its directory: root, state, sockets, config, log and runc state go here. */
  dir: string;
  /** Proxy snapshotters to register: name → unix socket of its gRPC server. */
  proxySnapshotters: Record<string, string>;
  /** The namespace `ctr()` uses (cgroups of its containers are named after it). */
  namespace: string;
}

/** What `ctr` printed and its exit code. */
export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A containerd of the demo's own, beside any containerd of the host. */
export interface PrivateContainerd {
  /** Its gRPC socket. */
  address: string;
  namespace: string;
  /** `--runc-root` and `--fifo-dir` for `ctr run`, so runc's state stays in the directory. */
  runFlags: string[];
  /** Runs `ctr --address SOCK --namespace NS ARGS…`; killed on `signal` or after `timeoutMs` (default 60 s). */
  ctr(args: string[], options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<CtrResult>;
  /** Its log so far. */
  log(): Promise<string>;
  /**
   * Kills and deletes its tasks and containers, stops it, then removes what
   * a hard stop leaves: shims, container processes and cgroups, mounts,
   * shim sockets. Idempotent.
   */
  close(): Promise<void>;
}

/** Plugins the demo never needs: CRI above all (it wants CNI and a sandbox image). */
const DISABLED_PLUGINS = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  // "opt" would create /opt/containerd outside the directory.
  "io.containerd.internal.v1.opt",
];

/** The config.toml (version 2) of a containerd in `dir`. */
export function privateContainerdConfig(dir: string, proxies: Record<string, string>): string {
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
    '  level = "info"',
    "[metrics]",
    '  address = ""',
  ];
  for (const [name, socket] of Object.entries(proxies)) {
    lines.push(`[proxy_plugins.${name}]`, '  type = "snapshot"', `  address = "${socket}"`);
  }
  return lines.join("\n") + "\n";
}

async function runCtr(
  address: string,
  namespace: string,
  args: string[],
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<CtrResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000);
  const out = await new Deno.Command("ctr", {
    args: ["--address", address, "--namespace", namespace, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Lines of a `ctr … ls -q` answer. */
async function listQuiet(ctd: PrivateContainerd, what: string): Promise<string[]> {
  const out = await ctd.ctr([what, "ls", "-q"], { timeoutMs: 10_000 });
  return out.stdout.split("\n").filter((l) => l);
}

class Containerd implements PrivateContainerd {
  readonly address: string;
  readonly namespace: string;
  readonly runFlags: string[];
  #dir: string;
  #daemon: DaemonProcess;
  #closed?: Promise<void>;

  constructor(options: PrivateContainerdOptions, daemon: DaemonProcess) {
    this.#dir = options.dir;
    this.#daemon = daemon;
    this.address = `${options.dir}/containerd.sock`;
    this.namespace = options.namespace;
    this.runFlags = ["--runc-root", `${options.dir}/runc`, "--fifo-dir", `${options.dir}/fifo`];
  }

  ctr(args: string[], options?: { signal?: AbortSignal; timeoutMs?: number }) {
    return runCtr(this.address, this.namespace, args, options);
  }

  log(): Promise<string> {
    return this.#daemon.log();
  }

  /** Waits until `ctr version` gets an answer, or containerd exits. */
  async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.#daemon.exited()) {
      if ((await this.ctr(["version"], { timeoutMs: 5_000 })).code === 0) return;
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tail = (await this.log()).trim().split("\n").slice(-3).join(" | ");
    throw new UnavailableError(`containerd at ${this.address} did not answer: ${tail}`);
  }

  close(): Promise<void> {
    return this.#closed ??= this.#teardown();
  }

  async #teardown(): Promise<void> {
    const tasks = this.#daemon.exited() ? [] : await listQuiet(this, "tasks").catch(() => []);
    for (const id of tasks) {
      await this.ctr(["tasks", "kill", "-s", "SIGKILL", id], { timeoutMs: 10_000 });
      await this.ctr(["tasks", "delete", "-f", id], { timeoutMs: 20_000 });
    }
    if (!this.#daemon.exited()) {
      for (const id of await listQuiet(this, "containers").catch(() => [])) {
        await this.ctr(["containers", "delete", id], { timeoutMs: 20_000 });
      }
    }
    await this.#daemon.stop();
    await removeContainerdLeftovers(this.#dir, this.address, this.namespace);
  }
}

/**
 * Starts Debian's `containerd` with everything in `options.dir` (root,
 * state, sockets; CRI and the other plugins the demo does not use off) and
 * the given proxy snapshotters, and waits until it answers. A failed start
 * cleans up after itself.
 *
 * @throws {FailedPreconditionError} when containerd is not installed
 * @throws {UnavailableError} when it does not answer within 15 s
 */
export async function openPrivateContainerd(
  options: PrivateContainerdOptions,
): Promise<PrivateContainerd> {
  await Deno.mkdir(options.dir, { recursive: true });
  const config = `${options.dir}/config.toml`;
  await Deno.writeTextFile(config, privateContainerdConfig(options.dir, options.proxySnapshotters));
  const daemon = await spawnDaemon(
    "containerd",
    ["--config", config],
    `${options.dir}/containerd.log`,
  );
  const ctd = new Containerd(options, daemon);
  try {
    await ctd.waitReady(15_000);
  } catch (err) {
    await ctd.close().catch(() => {});
    throw err;
  }
  return ctd;
}
