/**
 * First-read latency of a cache miss through the whole lazy mount stack
 * (`overlaybd mount` → mount daemon → blob cache → registry client), with
 * the registry in a network namespace of the benchmark's own behind a
 * userspace delay line (this kernel has no `tc netem`), at 0 and 20 ms of
 * added round trip, next to the round trip measured through the delay line
 * in the same run.
 *
 * Per refill size, delay and run: empty blob cache, `overlaybd mount` of
 * hello-world `amd64-converted` (timed), drop the page cache, read `/hello`
 * (the first read), drop again and read it from the blob cache; then
 * `overlaybd umount`. The delay line logs every HTTP request, so the table
 * can say how many requests a phase made and how long the registry took.
 * The registry keeps its storage on a tmpfs, so dropping this host's page
 * cache does not make the "remote" side read its disk.
 *
 * Needs root, `ip`, `/dev/fuse`, loop devices and Debian's `docker-registry`.
 *
 * Run: deno run -A bench/first_read.ts [--delays 0,20] [--refill 4096,262144] [--runs 7]
 *      [--timeline]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openRepository } from "../src/registry/mod.ts";
import { HELLO_LAYOUT, pushLayout } from "../tests/registry/_layout.ts";
import { type DelayLine, type LoggedRequest, startDelayLine } from "./_delay_line.ts";
import { createNetns, type Netns } from "./_netns.ts";
import { type NsRegistry, pingRegistry, startRegistryIn } from "./_ns_registry.ts";
import {
  cli,
  isMounted,
  measureRun,
  requestSpan,
  type Run,
  type RunSetup,
} from "./_first_read_run.ts";

const { values: flags } = parseArgs({
  options: {
    delays: { type: "string", default: "0,20" },
    refill: { type: "string", default: "4096,262144" },
    runs: { type: "string", default: "7" },
    pings: { type: "string", default: "50" },
    timeline: { type: "boolean", default: false },
  },
});
const DELAYS = flags.delays.split(",").map(Number);
const REFILLS = flags.refill.split(",").map(Number);
const RUNS = Math.min(Math.max(Number(flags.runs), 5), 50);
const PINGS = Math.min(Math.max(Number(flags.pings), 10), 500);
if (DELAYS.some((d) => !(d >= 0 && d <= 1000)) || REFILLS.some((r) => !Number.isInteger(r))) {
  throw new Error(`bad --delays ${flags.delays} or --refill ${flags.refill}`);
}
const BLOB_SIZE = 642_560;
/** The Range GET that the first read of /hello makes with 4 KiB pages. */
const HELLO_RANGE = {
  path: "/v2/hello-world/blobs/" +
    "sha256:022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d",
  range: [49152, 57343] as [number, number],
};

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
const ms = (x: number) => Number.isNaN(x) ? "—" : x.toFixed(x < 10 ? 2 : 1);
const kib = (x: number) => `${(x / 1024).toFixed(0)} KiB`;

/** Round trips through the delay line, split by what the registry took to answer. */
interface Rtt {
  /** Median of the client's round trips. */
  total: number;
  /** Median time from the request leaving the delay line to the first byte back. */
  registry: number;
  /** Median of total − registry per ping: the delay line and the loopback hops. */
  line: number;
}

async function measureRtt(line: DelayLine): Promise<Rtt> {
  line.reset();
  const times = await pingRegistry({ hostname: "127.0.0.1", port: line.port }, PINGS);
  const reqs = line.requests.slice(1); // the uncounted first ping
  const registry = reqs.map((r) => (r.serverAt ?? NaN) - (r.sentAt ?? NaN));
  return {
    total: median(times),
    registry: median(registry),
    line: median(times.map((t, i) => t - registry[i])),
  };
}

function printTimeline(label: string, reqs: LoggedRequest[]): void {
  console.log(`    ${label} (ms: received → passed to registry → first byte back → answered):`);
  for (const r of reqs) {
    const range = r.range ? ` bytes=${r.range[0]}-${r.range[1]}` : "";
    const path = r.path.replace(/sha256:([0-9a-f]{12})[0-9a-f]+/, "sha256:$1…");
    const t = [r.at, r.sentAt, r.serverAt, r.doneAt].map((x) => ms(x ?? NaN)).join(" → ");
    console.log(`      ${t}  conn ${r.conn}  ${r.method} ${path}${range}`);
  }
}

interface Row {
  refill: number;
  delay: number;
  rtt: Rtt;
  runs: Run[];
}

function printTable(rows: Row[]): void {
  const med = (rs: Run[], f: (r: Run) => number) => median(rs.map(f));
  console.log(
    `\nmedians of ${RUNS} runs (p90: nearest rank). RTT: GET /v2/ through the delay line ` +
      `(of which the registry's answer). Requests and bytes: Range GETs seen by the delay line; ` +
      `in brackets the blob cache's allocated bytes. Blob: ${kib(BLOB_SIZE)}.\n`,
  );
  console.log(
    "| refill | added delay | RTT (registry) | mount ms | of which before 1st request | " +
      "mount requests | " +
      "first read ms median / p90 | of which in requests | first-read requests | " +
      "first read / RTT | cached read ms | " +
      "fetched: mount + first read |",
  );
  console.log(`|${" --- |".repeat(12)}`);
  for (const { refill, delay, rtt, runs } of rows) {
    const read = runs.map((r) => r.readMs);
    const fetched = med(runs, (r) => r.mountRangeBytes + r.readRangeBytes);
    console.log(
      `| ${kib(refill)} | ${delay} ms | ${ms(rtt.total)} (${ms(rtt.registry)}) | ` +
        `${ms(med(runs, (r) => r.mountMs))} | ${ms(med(runs, (r) => r.startupMs))} | ` +
        `${med(runs, (r) => r.mountRequests.length)} | ` +
        `${ms(median(read))} / ${ms(quantile(read, 0.9))} | ` +
        `${ms(med(runs, (r) => requestSpan(r.readRequests)))} | ` +
        `${med(runs, (r) => r.readRequests.length)} | ${(median(read) / rtt.total).toFixed(1)} | ` +
        `${ms(med(runs, (r) => r.cachedMs))} | ` +
        `${kib(fetched)} (${kib(med(runs, (r) => r.cacheBytes))}) |`,
    );
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function main(): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "overlaybd-bench-" });
  const setup: RunSetup = { tmp, runDir: `${tmp}/run`, mnt: `${tmp}/mnt`, port: 0, refill: 0 };
  const storage = `${tmp}/registry`;
  let storageMounted = false;
  let netns: Netns | undefined;
  let registry: NsRegistry | undefined;
  let line: DelayLine | undefined;
  let interrupted = false;
  const onSignal = () => void (interrupted = true);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await Deno.mkdir(setup.mnt);
    await Deno.mkdir(storage);
    await run("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", storage]);
    storageMounted = true;
    netns = await createNetns();
    registry = await startRegistryIn(netns, storage, 5000);
    const target = { hostname: netns.nsAddr, port: 5000 };
    const repo = openRepository(`${netns.nsAddr}:5000/hello-world`, { plain: true });
    try {
      await pushLayout(repo, HELLO_LAYOUT);
    } finally {
      repo.close();
    }
    const direct = median(await pingRegistry(target, PINGS));
    const directRange = median(await pingRegistry(target, PINGS, HELLO_RANGE));
    line = await startDelayLine(target);
    setup.port = line.port;
    console.log(
      `registry ${netns.nsAddr}:5000 in netns ${netns.name}, delay line 127.0.0.1:${line.port}; ` +
        `${RUNS} runs per setting; ${Deno.osRelease()}`,
    );
    console.log(
      `straight to the registry, no delay line (medians of ${PINGS}): GET /v2/ ${ms(direct)} ms, ` +
        `8 KiB Range GET of the layer blob ${ms(directRange)} ms\n`,
    );
    const rows: Row[] = [];
    for (const refill of REFILLS) {
      for (const delay of DELAYS) {
        line.oneWayMs = delay / 2;
        const rtt = await measureRtt(line);
        console.log(
          `refill ${kib(refill)}, delay ${delay} ms: RTT ${ms(rtt.total)} ms = delay line ` +
            `${ms(rtt.line)} + registry ${ms(rtt.registry)} (medians of ${PINGS})`,
        );
        if (Math.abs(rtt.line - delay) > 3) {
          console.warn(`  warning: the delay line's ${ms(rtt.line)} ms is > 3 ms off ${delay} ms`);
        }
        const runs: Run[] = [];
        for (let i = 0; i < RUNS; i++) {
          if (interrupted) throw new Error("interrupted");
          const r = await measureRun({ ...setup, refill }, line);
          runs.push(r);
          console.log(
            `  run ${i + 1}: mount ${ms(r.mountMs)} ms (first request at ${ms(r.startupMs)}, ` +
              `${r.mountRequests.length} requests); first read ${ms(r.readMs)} ms ` +
              `(${r.readRequests.length} requests, ${kib(r.readRangeBytes)}, ` +
              `${ms(requestSpan(r.readRequests))} ms in them); ` +
              `cached ${ms(r.cachedMs)} ms (${r.cachedRequests} requests)`,
          );
        }
        if (flags.timeline) {
          printTimeline("mount, last run", runs[RUNS - 1].mountRequests);
          printTimeline("first read, last run", runs[RUNS - 1].readRequests);
        }
        rows.push({ refill, delay, rtt, runs });
      }
    }
    printTable(rows);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    if (await isMounted(setup.mnt)) {
      await cli(["umount", "--run-dir", setup.runDir, setup.mnt]).catch((e) =>
        console.error(e.message)
      );
    }
    if (await isMounted(setup.mnt)) await run("umount", ["-l", setup.mnt]).catch(() => {});
    await line?.close();
    await registry?.stop().catch((e) => console.error(e.message));
    await netns?.close();
    if (storageMounted) await run("umount", [storage]).catch((e) => console.error(e.message));
    await Deno.remove(tmp, { recursive: true }).catch((e) => console.error(e.message));
  }
}

try {
  await main();
} catch (err) {
  console.error(`first_read: ${(err as Error).message} (everything it set up was removed)`);
  Deno.exit(1);
}
