import { FailedPreconditionError, UnavailableError } from "../errors.ts";

// Snapshot labels that make the overlaybd snapshotter record (spec §7.2); src/snapshotter has
// them too, but importing it from here would close an import cycle through src/mount.
const RECORD_TRACE = "containerd.io/snapshot/overlaybd/record-trace";
const RECORD_TRACE_PATH = "containerd.io/snapshot/overlaybd/record-trace-path";
/** The rootfs on the image's shared read-only device, where recording happens. */
const WRITABLE = "containerd.io/snapshot/overlaybd.writable";

/** Options of {@linkcode recordContainer}. */
export interface RecordContainerOptions {
  /** containerd's socket and namespace, for `ctr`. */
  address: string;
  namespace: string;
  /** Proxy snapshotter name of the overlaybd snapshotter in containerd's config. */
  snapshotter: string;
  /** Image name in containerd (pulled already). */
  image: string;
  /** Command of the container; empty runs the image's own. */
  cmd: string[];
  /** Seconds after which the container is stopped (SIGTERM, SIGKILL 10 s later). */
  timeSec: number;
  /** An empty directory the snapshotter can reach (same host): the trace is written there. */
  workDir: string;
  /** Share the host's network instead of an empty network namespace. */
  netHost?: boolean;
  /** Output of the container and progress lines. */
  log: (line: string) => void;
  /** How long to wait for the trace once the container is gone (default 30 s). */
  dumpTimeoutMs?: number;
}

/** What {@linkcode recordContainer} got. */
export interface RecordedTrace {
  /** The trace file (spec §8.3). */
  trace: Uint8Array<ArrayBuffer>;
  /** Exit code of the container's task (`ctr run`'s). */
  exitCode: number;
  /** Whether it was still running at `timeSec` and was stopped. */
  stopped: boolean;
}

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `ctr ARGS`, best effort: the task may be gone already. */
async function ctr(o: RecordContainerOptions, args: string[]): Promise<void> {
  await new Deno.Command("ctr", {
    args: ["--address", o.address, "--namespace", o.namespace, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output().catch(() => {});
}

/** Copies `stream` to `log` line by line; resolves to its last 4 KiB. */
async function relay(stream: ReadableStream<Uint8Array>, log: (l: string) => void) {
  let tail = "";
  let line = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    tail = (tail + text).slice(-4096);
    const parts = (line + text).split("\n");
    line = parts.pop()!;
    for (const p of parts) log(p);
  }
  if (line) log(line);
  return tail;
}

/**
 * Runs a container of `image` with `ctr run --rm` through the overlaybd
 * snapshotter, its rootfs Prepare labelled to record the image device's
 * reads into `<workDir>/trace` (spec §8.1, §8.6), until its command exits
 * or `timeSec` pass; then ends the recording (deletes `<trace>.lock`) and
 * waits for `<trace>.ok`, the snapshotter's sign that the trace is written.
 *
 * @throws {FailedPreconditionError} when the container did not start or nothing recorded
 *   (not the overlaybd snapshotter, or the image's device is in use by other containers)
 * @throws {UnavailableError} when the trace is not written within the dump timeout
 */
export async function recordContainer(o: RecordContainerOptions): Promise<RecordedTrace> {
  const trace = `${o.workDir}/trace`;
  await Deno.writeFile(trace, new Uint8Array(), { mode: 0o644 });
  const id = `record-trace-${crypto.randomUUID().slice(0, 8)}`;
  const child = new Deno.Command("ctr", {
    args: [
      "--address",
      o.address,
      "--namespace",
      o.namespace,
      "run",
      "--rm",
      "--snapshotter",
      o.snapshotter,
      "--snapshotter-label",
      `${RECORD_TRACE}=yes`,
      "--snapshotter-label",
      `${RECORD_TRACE_PATH}=${trace}`,
      "--snapshotter-label",
      `${WRITABLE}=overlayfs`,
      ...(o.netHost ? ["--net-host"] : []),
      o.image,
      id,
      ...o.cmd,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = relay(child.stdout, o.log);
  const err = relay(child.stderr, o.log);
  let stopped = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    stopped = true;
    o.log(`record-trace: ${o.timeSec} s passed, stopping ${id}`);
    ctr(o, ["tasks", "kill", id]);
    killTimer = setTimeout(() => ctr(o, ["tasks", "kill", "--signal", "SIGKILL", id]), 10_000);
  }, o.timeSec * 1000);
  const status = await child.status;
  clearTimeout(timer);
  clearTimeout(killTimer);
  await out;
  const stderr = await err;
  const started = await exists(`${trace}.lock`) || await exists(`${trace}.ok`) ||
    (await Deno.stat(trace)).size > 0;
  if (!started) {
    throw new FailedPreconditionError(
      `record-trace: nothing was recorded for ${o.image} (ctr run exited with ${status.code}): ` +
        `${stderr.trim().split("\n").slice(-3).join(" ")}`,
    );
  }
  await Deno.remove(`${trace}.lock`).catch(() => {/* the device closed and removed it */});
  const until = Date.now() + (o.dumpTimeoutMs ?? 30_000);
  while (!await exists(`${trace}.ok`)) {
    if (Date.now() > until) {
      throw new UnavailableError(`record-trace: the snapshotter did not write ${trace} in time`);
    }
    await sleep(100);
  }
  return { trace: await Deno.readFile(trace), exitCode: status.code, stopped };
}
