/**
 * Benchmark helper: one run of bench/first_read.ts — empty cache, mount,
 * first read, cached read, umount — timed, with the registry requests the
 * delay line saw in each phase.
 *
 * @module
 */

import { sha256 } from "../tests/_helpers.ts";
import type { DelayLine, LoggedRequest } from "./_delay_line.ts";

const HELLO_SHA = "d3f7d10e296e5c626ea78539cb38cd8dffd043bea3627da35ce3b20c0ac68014";
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Where a run works. */
export interface RunSetup {
  tmp: string;
  runDir: string;
  mnt: string;
  /** Port of the delay line in front of the registry. */
  port: number;
  /** `cacheConfig.refillSize` */
  refill: number;
}

/** What one run measured; times in ms. */
export interface Run {
  /** `overlaybd mount`, start to exit (CLI start, daemon start, resolve, open, FUSE, loop, ext4). */
  mountMs: number;
  /** From the mount command's start to its first registry request. */
  startupMs: number;
  mountRequests: LoggedRequest[];
  mountRangeBytes: number;
  /** Reading /hello whole after the mount and a drop of the page cache. */
  readMs: number;
  readRequests: LoggedRequest[];
  readRangeBytes: number;
  /** The same again, after another drop: from the blob cache. */
  cachedMs: number;
  cachedRequests: number;
  /** Allocated bytes of the cache's data files at the end. */
  cacheBytes: number;
}

/** Runs `overlaybd ARGS` from this checkout; throws with its stderr on failure. */
export async function cli(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`overlaybd ${args[0]}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Whether `dir` is a mount point now. */
export async function isMounted(dir: string): Promise<boolean> {
  const table = await Deno.readTextFile("/proc/self/mounts");
  return table.split("\n").some((l) => l.split(" ")[1] === dir);
}

async function dropCaches(): Promise<void> {
  await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3\n");
}

async function cachedBytes(cacheDir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(cacheDir)) {
    if (!e.name.endsWith(".data")) continue;
    n += ((await Deno.stat(`${cacheDir}/${e.name}`)).blocks ?? 0) * 512;
  }
  return n;
}

/** Reads a file whole; resolves to the ms it took, after checking its hash. */
async function timedRead(path: string): Promise<number> {
  const t0 = performance.now();
  const bytes = await Deno.readFile(path);
  const took = performance.now() - t0;
  const sha = await sha256(bytes);
  if (sha !== HELLO_SHA) throw new Error(`${path}: sha256 ${sha}, expected ${HELLO_SHA}`);
  return took;
}

/** ms during which at least one of `reqs` was between the delay line and back. */
export function requestSpan(reqs: LoggedRequest[]): number {
  let total = 0;
  let end = -Infinity;
  for (const r of [...reqs].sort((a, b) => a.at - b.at)) {
    const done = r.doneAt ?? r.at;
    if (done <= end) continue;
    total += done - Math.max(r.at, end);
    end = done;
  }
  return total;
}

const rangeBytes = (reqs: LoggedRequest[]) =>
  reqs.reduce((n, r) => n + (r.range ? r.range[1] - r.range[0] + 1 : 0), 0);

/** One run (see the module doc); umounts even when a step fails. */
export async function measureRun(s: RunSetup, line: DelayLine): Promise<Run> {
  const cacheDir = `${s.tmp}/cache`;
  const config = `${s.tmp}/overlaybd.json`;
  await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  await Deno.writeTextFile(
    config,
    JSON.stringify({ cacheConfig: { cacheDir, cacheSizeGB: 1, refillSize: s.refill } }),
  );
  const image = `127.0.0.1:${s.port}/hello-world:amd64-converted`;
  line.reset();
  const t0 = performance.now();
  await cli(["mount", "--plain", "--config", config, "--run-dir", s.runDir, image, s.mnt]);
  const mountMs = performance.now() - t0;
  const mountRequests = line.requests;
  try {
    await dropCaches();
    line.reset();
    const readMs = await timedRead(`${s.mnt}/hello`);
    const readRequests = line.requests;
    await dropCaches();
    line.reset();
    const cachedMs = await timedRead(`${s.mnt}/hello`);
    return {
      mountMs,
      startupMs: mountRequests[0]?.at ?? NaN,
      mountRequests,
      mountRangeBytes: rangeBytes(mountRequests),
      readMs,
      readRequests,
      readRangeBytes: rangeBytes(readRequests),
      cachedMs,
      cachedRequests: line.requests.length,
      cacheBytes: await cachedBytes(cacheDir),
    };
  } finally {
    await cli(["umount", "--run-dir", s.runDir, s.mnt]);
  }
}
