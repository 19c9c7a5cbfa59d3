/**
 * Cold-start benchmark: one timed start of a container, from an empty
 * host to the workload's ready line. Each run gets a stack of its own —
 * `overlaybd snapshotter` and a private containerd in a new temporary
 * directory, so content store, snapshots and blob cache start empty — and
 * the page cache is dropped before the clock starts. Then the same
 * container is started again on the warm host.
 *
 * @module
 */

import { type ContainerdFixture, withContainerd } from "../../tests/containerd/_containerd.ts";
import { withSnapshotterDaemon } from "../../tests/cli/_snapshotter_daemon.ts";
import { READY } from "./_images.ts";
import type { Link } from "./_link.ts";

/** How an image is started. */
export type Mode = "oci" | "lazy" | "trace";

/** What one run measured; times in ms. */
export interface Run {
  mode: Mode;
  /** `ctr image pull` (oci) or `overlaybd rpull` (lazy, trace). */
  pullMs: number;
  /** `ctr run` until the ready line. */
  runMs: number;
  /** pull + run: the cold start. */
  totalMs: number;
  /** Bytes the registry sent through the delay line during the cold start. */
  bytes: number;
  /** HTTP requests it made. */
  requests: number;
  /** `ctr run` to the ready line once more, everything local. */
  warmMs: number;
  /** The host's 1-minute load average when the run started (other work skews the times). */
  load1: number;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const RUN_TIMEOUT_MS = 300_000;
const PULL = ["image", "pull", "--plain-http"];

async function dropCaches(): Promise<void> {
  await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3\n");
}

/** Runs `cmd`, throwing with its stderr when it fails. */
async function exec(cmd: string, args: string[], signal: AbortSignal): Promise<void> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.any([signal, AbortSignal.timeout(RUN_TIMEOUT_MS)]),
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${cmd} ${args.slice(0, 6).join(" ")}…: exit ${out.code}: ${err}`);
  }
}

/** Runs the `overlaybd` CLI of this checkout. */
export function overlaybd(args: string[], signal: AbortSignal): Promise<void> {
  return exec(Deno.execPath(), ["run", "--allow-all", "--quiet", MAIN, ...args], signal);
}

/**
 * `ctr run` of `ref` as container `id`; resolves to the ms until it printed
 * the ready line, after it exited with 0.
 */
async function runToReady(
  ctd: ContainerdFixture,
  snapshotter: string | undefined,
  ref: string,
  id: string,
  signal: AbortSignal,
): Promise<number> {
  const args = ["--address", ctd.address, "--namespace", ctd.namespace, "run", "--rm"];
  if (snapshotter) args.push("--snapshotter", snapshotter);
  args.push("--net-host", ...ctd.runFlags, ref, id);
  const t0 = performance.now();
  const child = new Deno.Command("ctr", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.any([signal, AbortSignal.timeout(RUN_TIMEOUT_MS)]),
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let readyAt: number | undefined;
  let seen = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    seen += decoder.decode(chunk, { stream: true });
    if (readyAt === undefined && seen.split("\n").some((l) => l.trim() === READY)) {
      readyAt = performance.now();
    }
  }
  const status = await child.status;
  if (!status.success || readyAt === undefined) {
    throw new Error(
      `ctr run ${ref}: exit ${status.code}, ${readyAt ? "" : "no ready line, "}` +
        `stdout ${JSON.stringify(seen.slice(-300))}, stderr ${(await stderr).slice(-500)}`,
    );
  }
  return readyAt - t0;
}

/**
 * Runs `fn` with a fresh stack in `dir` (empty): `overlaybd snapshotter`
 * reaching the registry through `link`, and a private containerd that
 * has it as proxy snapshotter `overlaybd`; tears both down afterwards.
 */
export function withStack<T>(
  dir: string,
  link: Link,
  fn: (ctd: ContainerdFixture) => Promise<T>,
): Promise<T> {
  return withSnapshotterDaemon(
    dir,
    { insecureHosts: [link.host] },
    (daemon) => withContainerd({ proxySnapshotters: { overlaybd: daemon.address } }, fn),
  );
}

/**
 * One cold start of `ref` in `mode` (see the module doc), then a warm one.
 * `dir` is where the run's stack lives; it must be empty.
 */
export async function measureRun(
  dir: string,
  link: Link,
  mode: Mode,
  ref: string,
  signal: AbortSignal,
): Promise<Run> {
  return await withStack(dir, link, async (ctd) => {
    const snapshotter = mode === "oci" ? undefined : "overlaybd";
    const pull = mode === "oci"
      ? () => exec("ctr", ["--address", ctd.address, "-n", ctd.namespace, ...PULL, ref], signal)
      : () =>
        overlaybd(
          ["rpull", "--plain", "--address", ctd.address, "--namespace", ctd.namespace, ref],
          signal,
        );
    const load1 = Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
    await dropCaches();
    link.line.reset();
    const t0 = performance.now();
    await pull();
    const pullMs = performance.now() - t0;
    const runMs = await runToReady(ctd, snapshotter, ref, "cold", signal);
    const totalMs = pullMs + runMs;
    const bytes = link.line.bytesDown;
    const requests = link.line.requests.length;
    const warmMs = await runToReady(ctd, snapshotter, ref, "warm", signal);
    return { mode, pullMs, runMs, totalMs, bytes, requests, warmMs, load1 };
  });
}
