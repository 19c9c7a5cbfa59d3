/**
 * Test fixture: Debian's real `containerd` (1.6) with a private root, state,
 * socket and config in a temporary directory, optionally with proxy
 * snapshotters, torn down afterwards even on failure: tasks killed, shims
 * killed, containerd stopped, processes and cgroups of containers whose task
 * survived killed and removed, mounts under the directory unmounted, the
 * directory deleted. On failure the end of the containerd log is printed.
 *
 * Each fixture has its own namespace (cgroups are named after it), so tests
 * running in parallel never touch each other's containers. Give `ctr run`
 * {@linkcode ContainerdFixture.runFlags} to keep runc's state and the stdio
 * FIFOs inside the directory too (ctr leaves FIFOs of a detached container
 * behind when containerd dies).
 *
 * ```ts ignore
 * await withContainerd({ proxySnapshotters: { overlaybd: sock } }, async (ctd) => {
 *   const out = await ctd.ctr(["run", "--rm", ...ctd.runFlags, image, "c1", "true"]);
 *   assert.equal(out.code, 0, out.stderr);
 * });
 * ```
 *
 * @module
 */

import { withTempDir } from "../_helpers.ts";
import {
  killShims,
  leftoverTasks,
  removeCgroups,
  removeShimSocket,
  unmountUnder,
} from "./_teardown.ts";

/** Lines of the containerd log printed when a test fails (debug level is chatty). */
const LOG_TAIL_LINES = 300;

/** Where runc keeps container state when `ctr run` is given no `--runc-root`. */
const DEFAULT_RUNC_ROOT = "/run/containerd/runc";

/** Options of {@linkcode withContainerd}. */
export interface ContainerdOptions {
  /** Proxy snapshotters to register: name → unix socket of its gRPC server. */
  proxySnapshotters?: Record<string, string>;
  /** Namespace of `ctr()` (default `obd-test-<random>`, new for each fixture). */
  namespace?: string;
  /** More TOML appended to the generated config. */
  extraConfig?: string;
}

/** What `ctr` printed and its exit code. */
export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running containerd of one test. */
export interface ContainerdFixture {
  /** The temporary directory that holds everything. */
  dir: string;
  /** Its gRPC socket (give it to clients as `unix://` + address, or `--address`). */
  address: string;
  namespace: string;
  /** `--runc-root` and `--fifo-dir` for `ctr run`, both inside the directory. */
  runFlags: string[];
  /** Runs `ctr --address SOCK --namespace NS ARGS…` (killed after `timeoutMs`, default 120 s). */
  ctr(args: string[], options?: { namespace?: string; timeoutMs?: number }): Promise<CtrResult>;
  /** The containerd log so far. */
  log(): Promise<string>;
}

/** Plugins a test never needs; CRI above all (it wants CNI and a sandbox image). */
const DISABLED_PLUGINS = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  // "opt" would create /opt/containerd outside the temporary directory.
  "io.containerd.internal.v1.opt",
];

/** The config.toml (version 2) of a fixture in `dir`. */
export function containerdConfig(dir: string, options: ContainerdOptions = {}): string {
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
    '  level = "debug"',
    "[metrics]",
    '  address = ""',
  ];
  for (const [name, socket] of Object.entries(options.proxySnapshotters ?? {})) {
    lines.push(`[proxy_plugins.${name}]`, '  type = "snapshot"', `  address = "${socket}"`);
  }
  if (options.extraConfig) lines.push(options.extraConfig);
  return lines.join("\n") + "\n";
}

/** Runs `ctr` against `address`; never throws for a non-zero exit. */
async function runCtr(
  address: string,
  namespace: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<CtrResult> {
  const out = await new Deno.Command("ctr", {
    args: ["--address", address, "--namespace", namespace, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Waits until `ctr version` gets an answer from the socket, or containerd exits. */
async function waitReady(address: string, child: Deno.ChildProcess, logPath: string) {
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  const until = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      throw new Error(`containerd exited with ${exited.code}: ${await Deno.readTextFile(logPath)}`);
    }
    if ((await runCtr(address, "default", ["version"], 5_000)).code === 0) return;
    if (Date.now() > until) throw new Error(`containerd at ${address} did not answer in 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills and deletes every task and container in every namespace, best effort. */
async function killTasks(address: string): Promise<string[]> {
  const ns = await runCtr(address, "default", ["namespaces", "ls", "-q"], 10_000);
  const namespaces = ns.stdout.split("\n").filter((n) => n);
  for (const n of namespaces) {
    const tasks = await runCtr(address, n, ["tasks", "ls", "-q"], 10_000);
    for (const id of tasks.stdout.split("\n").filter((t) => t)) {
      await runCtr(address, n, ["tasks", "kill", "-s", "SIGKILL", id], 10_000);
      await runCtr(address, n, ["tasks", "delete", "-f", id], 20_000);
    }
    const containers = await runCtr(address, n, ["containers", "ls", "-q"], 10_000);
    for (const id of containers.stdout.split("\n").filter((c) => c)) {
      await runCtr(address, n, ["containers", "delete", id], 20_000);
    }
  }
  return namespaces;
}

/** Stops containerd: SIGTERM, then SIGKILL after 10 s. */
async function stopContainerd(child: Deno.ChildProcess): Promise<void> {
  const signal = (s: Deno.Signal) => {
    try {
      child.kill(s);
    } catch { /* exited already */ }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 10_000);
  await child.status;
  clearTimeout(timer);
}

/**
 * Runs `fn` with a private containerd; everything is torn down afterwards,
 * also when `fn` or the start fails (the log is printed then).
 */
export async function withContainerd<T>(
  options: ContainerdOptions,
  fn: (ctd: ContainerdFixture) => Promise<T>,
): Promise<T> {
  return await withTempDir(async (dir) => {
    const address = `${dir}/containerd.sock`;
    const namespace = options.namespace ?? `obd-test-${crypto.randomUUID().slice(0, 8)}`;
    const logPath = `${dir}/containerd.log`;
    await Deno.writeTextFile(`${dir}/config.toml`, containerdConfig(dir, options));
    const log = await Deno.open(logPath, { write: true, create: true, truncate: true });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("containerd", {
        args: ["--config", `${dir}/config.toml`],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      log.close();
      throw err;
    }
    // Written chunk by chunk: FsFile.writable holds data back until it closes,
    // and the log is wanted while containerd still runs.
    const drained = (async () => {
      try {
        for await (const chunk of child.stderr) {
          for (let off = 0; off < chunk.length;) off += await log.write(chunk.subarray(off));
        }
      } finally {
        log.close();
      }
    })().catch(() => {});
    const fixture: ContainerdFixture = {
      dir,
      address,
      namespace,
      runFlags: ["--runc-root", `${dir}/runc`, "--fifo-dir", `${dir}/fifo`],
      ctr: (args, o = {}) => runCtr(address, o.namespace ?? namespace, args, o.timeoutMs),
      log: () => Deno.readTextFile(logPath),
    };
    try {
      await waitReady(address, child, logPath);
      return await fn(fixture);
    } catch (err) {
      const tail = (await fixture.log()).split("\n").slice(-LOG_TAIL_LINES).join("\n");
      console.error(`--- containerd log, last lines (${logPath}) ---\n${tail}--- end ---`);
      throw err;
    } finally {
      let namespaces = [namespace];
      try {
        namespaces = [...new Set([namespace, ...await killTasks(address)])];
      } finally {
        await stopContainerd(child);
        await drained;
        await killShims(address);
        const leftovers = await leftoverTasks(`${dir}/state`);
        await removeCgroups(leftovers, namespaces);
        await unmountUnder(dir);
        for (const task of leftovers) {
          const runcState = `${DEFAULT_RUNC_ROOT}/${task[0]}/${task[1]}`;
          await Deno.remove(runcState, { recursive: true }).catch(() => {});
          await removeShimSocket(address, task);
        }
      }
    }
  });
}
