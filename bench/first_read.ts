/**
 * First-read latency of a cache miss through the whole lazy mount stack
 * (`overlaybd mount` → mount daemon → blob cache → registry client), with
 * the registry in a network namespace of the benchmark's own behind a
 * userspace delay line (this kernel has no `tc netem`), at 0 and 20 ms of
 * added round trip; the delay line's own round trip is measured in the same
 * run. Per delay and run: empty cache, `overlaybd mount` of hello-world
 * (`amd64-converted`), drop the page cache, read `/hello` (the miss), drop
 * again and read it from the blob cache; then `overlaybd umount`.
 *
 * Needs root, `ip`, `/dev/fuse`, loop devices and Debian's `docker-registry`.
 *
 * Run: deno run -A bench/first_read.ts [--delays 0,20] [--runs 7] [--refill 262144]
 *      [--timeline]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openRepository } from "../src/registry/mod.ts";
import { sha256 } from "../tests/_helpers.ts";
import { HELLO_LAYOUT, pushLayout } from "../tests/registry/_layout.ts";
import { type DelayLine, type LoggedRequest, startDelayLine } from "./_delay_line.ts";
import { createNetns, type Netns } from "./_netns.ts";
import { measureRtt, startRegistryIn } from "./_ns_registry.ts";

const { values: flags } = parseArgs({
  options: {
    delays: { type: "string", default: "0,20" },
    runs: { type: "string", default: "7" },
    refill: { type: "string", default: "262144" },
    pings: { type: "string", default: "50" },
    timeline: { type: "boolean", default: false },
  },
});
const DELAYS = flags.delays.split(",").map(Number);
const RUNS = Math.min(Math.max(Number(flags.runs), 5), 50);
const REFILL = Number(flags.refill);
const PINGS = Math.min(Math.max(Number(flags.pings), 10), 500);
const BLOB_SIZE = 642_560;
const HELLO_SHA = "d3f7d10e296e5c626ea78539cb38cd8dffd043bea3627da35ce3b20c0ac68014";
const MAIN = new URL("../main.ts", import.meta.url).pathname;

let interrupted = false;
function checkInterrupted(): void {
  if (interrupted) throw new Error("interrupted");
}

async function cli(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`overlaybd ${args[0]}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

async function isMounted(dir: string): Promise<boolean> {
  const table = await Deno.readTextFile("/proc/self/mounts");
  return table.split("\n").some((l) => l.split(" ")[1] === dir);
}

async function dropCaches(): Promise<void> {
  await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3\n");
}

/** Bytes the blob cache holds on disk (allocated blocks of its data files). */
async function cachedBytes(cacheDir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(cacheDir)) {
    if (e.name.endsWith(".data")) {
      n += ((await Deno.stat(`${cacheDir}/${e.name}`)).blocks ?? 0) * 512;
    }
  }
  return n;
}

/** Reads a file whole; resolves to the ms it took, after checking its hash. */
async function timedRead(path: string): Promise<number> {
  const t0 = performance.now();
  const bytes = await Deno.readFile(path);
  const ms = performance.now() - t0;
  const sha = await sha256(bytes);
  if (sha !== HELLO_SHA) throw new Error(`${path}: sha256 ${sha}, expected ${HELLO_SHA}`);
  return ms;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

const rangeBytes = (reqs: LoggedRequest[]) =>
  reqs.reduce((n, r) => n + (r.range ? r.range[1] - r.range[0] + 1 : 0), 0);

interface Run {
  mountMs: number;
  /** ms from the mount command's start to its first registry request. */
  startupMs: number;
  mountRequests: LoggedRequest[];
  mountRangeBytes: number;
  readMs: number;
  readRequests: LoggedRequest[];
  readConnections: number;
  readRangeBytes: number;
  cachedMs: number;
  cachedRequests: number;
  cacheBytes: number;
}

interface Setup {
  tmp: string;
  line: DelayLine;
  runDir: string;
  mnt: string;
}

async function oneRun(s: Setup, delayMs: number): Promise<Run> {
  const cacheDir = `${s.tmp}/cache`;
  const config = `${s.tmp}/overlaybd.json`;
  await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  await Deno.writeTextFile(
    config,
    JSON.stringify({ cacheConfig: { cacheDir, cacheSizeGB: 1, refillSize: REFILL } }),
  );
  s.line.oneWayMs = delayMs / 2;
  s.line.reset();
  const t0 = performance.now();
  await cli([
    "mount",
    "--plain",
    "--config",
    config,
    "--run-dir",
    s.runDir,
    `127.0.0.1:${s.line.port}/hello-world:amd64-converted`,
    s.mnt,
  ]);
  const mountMs = performance.now() - t0;
  const mountRequests = s.line.requests;
  const startupMs = mountRequests[0]?.at ?? NaN;
  try {
    await dropCaches();
    s.line.reset();
    const readMs = await timedRead(`${s.mnt}/hello`);
    const readRequests = s.line.requests;
    const readConnections = s.line.connections;
    await dropCaches();
    s.line.reset();
    const cachedMs = await timedRead(`${s.mnt}/hello`);
    return {
      mountMs,
      startupMs,
      mountRequests,
      mountRangeBytes: rangeBytes(mountRequests),
      readMs,
      readRequests,
      readConnections,
      readRangeBytes: rangeBytes(readRequests),
      cachedMs,
      cachedRequests: s.line.requests.length,
      cacheBytes: await cachedBytes(cacheDir),
    };
  } finally {
    await cli(["umount", "--run-dir", s.runDir, s.mnt]);
  }
}

function printTimeline(label: string, reqs: LoggedRequest[]): void {
  console.log(`  ${label}:`);
  for (const r of reqs) {
    const range = r.range ? ` bytes=${r.range[0]}-${r.range[1]}` : "";
    const path = r.path.replace(/sha256:([0-9a-f]{12})[0-9a-f]+/, "sha256:$1…");
    const done = r.doneAt === undefined ? "" : `, answered at ${r.doneAt.toFixed(1)} ms`;
    console.log(
      `    ${r.at.toFixed(1).padStart(8)} ms  conn ${r.conn}  ${r.method} ${path}${range}${done}`,
    );
  }
}

const ms = (x: number) => x.toFixed(x < 10 ? 2 : 1);
const kib = (x: number) => `${(x / 1024).toFixed(0)} KiB`;

async function main(): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "overlaybd-bench-" });
  const mnt = `${tmp}/mnt`;
  await Deno.mkdir(mnt);
  let netns: Netns | undefined;
  let registry: { stop(): Promise<void> } | undefined;
  let line: DelayLine | undefined;
  const onSignal = () => void (interrupted = true);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    netns = await createNetns();
    registry = await startRegistryIn(netns, tmp, 5000);
    const target = { hostname: netns.nsAddr, port: 5000 };
    const repo = openRepository(`${netns.nsAddr}:5000/hello-world`, { plain: true });
    try {
      await pushLayout(repo, HELLO_LAYOUT);
    } finally {
      repo.close();
    }
    const direct = await measureRtt(target, PINGS);
    line = await startDelayLine(target);
    const setup: Setup = { tmp, line, runDir: `${tmp}/run`, mnt };
    console.log(
      `registry ${netns.nsAddr}:5000 in netns ${netns.name}, delay line 127.0.0.1:${line.port}, ` +
        `refillSize ${REFILL}, ${RUNS} runs per delay, ${Deno.osRelease()}`,
    );
    console.log(`registry round trip without the delay line: ${ms(direct)} ms\n`);
    const rows: { delay: number; rtt: number; runs: Run[] }[] = [];
    for (const delay of DELAYS) {
      checkInterrupted();
      line.oneWayMs = delay / 2;
      const rtt = await measureRtt({ hostname: "127.0.0.1", port: line.port }, PINGS);
      console.log(`delay ${delay} ms: measured RTT ${ms(rtt)} ms (median of ${PINGS} pings)`);
      if (Math.abs(rtt - delay) > 3) {
        console.warn(`  warning: RTT ${ms(rtt)} ms is more than 3 ms off the ${delay} ms target`);
      }
      const runs: Run[] = [];
      for (let i = 0; i < RUNS; i++) {
        checkInterrupted();
        runs.push(await oneRun(setup, delay));
        const r = runs[i];
        console.log(
          `  run ${i + 1}: mount ${ms(r.mountMs)} ms (first request at ${ms(r.startupMs)} ms, ` +
            `${r.mountRequests.length} requests), first read ${ms(r.readMs)} ms ` +
            `(${r.readRequests.length} requests, ${kib(r.readRangeBytes)}), ` +
            `cached ${ms(r.cachedMs)} ms (${r.cachedRequests} requests)`,
        );
      }
      if (flags.timeline) {
        const last = runs[runs.length - 1];
        printTimeline("mount: requests through the delay line", last.mountRequests);
        printTimeline("first read: requests through the delay line", last.readRequests);
      }
      rows.push({ delay, rtt, runs });
    }
    printTable(rows);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    if (await isMounted(mnt)) {
      await cli(["umount", "--run-dir", `${tmp}/run`, mnt]).catch((e) => console.error(e.message));
    }
    if (await isMounted(mnt)) await new Deno.Command("umount", { args: ["-l", mnt] }).output();
    await line?.close();
    await registry?.stop().catch((e) => console.error(e.message));
    await netns?.close();
    await Deno.remove(tmp, { recursive: true }).catch((e) => console.error(e.message));
  }
}

function printTable(rows: { delay: number; rtt: number; runs: Run[] }[]): void {
  const med = (rs: Run[], f: (r: Run) => number) => quantile(rs.map(f), 0.5);
  console.log(
    `\nmedians of ${RUNS} runs (p90: nearest rank); blob ${BLOB_SIZE} bytes; ` +
      `bytes = Range bytes asked of the registry (cache data allocated on disk)\n`,
  );
  console.log(
    "| added delay | RTT measured | mount ms | of which before 1st request | mount requests | " +
      "first read ms (median / p90) | first-read requests | first read / RTT | " +
      "cached read ms | bytes fetched: mount + first read |",
  );
  console.log(`|${" --- |".repeat(10)}`);
  for (const { delay, rtt, runs } of rows) {
    const read = runs.map((r) => r.readMs);
    const ratio = delay > 0 ? (quantile(read, 0.5) / rtt).toFixed(1) : "—";
    const fetched = med(runs, (r) => r.mountRangeBytes + r.readRangeBytes);
    console.log(
      `| ${delay} ms | ${ms(rtt)} ms | ${ms(med(runs, (r) => r.mountMs))} | ` +
        `${ms(med(runs, (r) => r.startupMs))} | ${med(runs, (r) => r.mountRequests.length)} | ` +
        `${ms(quantile(read, 0.5))} / ${ms(quantile(read, 0.9))} | ` +
        `${med(runs, (r) => r.readRequests.length)} | ${ratio} | ` +
        `${ms(med(runs, (r) => r.cachedMs))} | ` +
        `${kib(fetched)} (${kib(med(runs, (r) => r.cacheBytes))}) of ${kib(BLOB_SIZE)} |`,
    );
  }
}

await main();
