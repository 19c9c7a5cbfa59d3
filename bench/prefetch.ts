/**
 * Trace-based and list-based prefetch (spec §8): the first read of files of
 * a lazily mounted image, with and without prefetch, in the same run.
 *
 * The image is built here: one overlaybd layer holding `/hello` (the
 * hello-world binary, 13 KiB), `/big.bin` (`--big-mb` MiB of
 * incompressible bytes) and `/lib/` (256 files of 16 KiB, read in a
 * shuffled order like a program's imports). The registry runs in a network namespace behind a
 * userspace delay line (this kernel has no `tc netem`), storage on tmpfs.
 * A trace is recorded once through `overlaybd mount` (empty
 * `recordTracePath`, the files read, lock deleted); a list file names them
 * (`/lib/` for the directory). Then, per run, each mode in turn on an empty blob cache:
 *
 * - `lazy`: no prefetch;
 * - `replay`: the trace replayed (spec §8.4) — the files are read right
 *   after `overlaybd mount` returns, racing the replay, as a container would;
 * - `list`: the list prefetched (spec §8.5), read the same way;
 * - `replay, settled`: the trace replayed to its end before the reads
 *   (what a container started a little later sees).
 *
 * Every mode reads the files in the order the trace recorded them: /hello,
 * /lib/ (shuffled), /big.bin.
 *
 * Needs root, `ip`, `/dev/fuse`, loop devices and Debian's `docker-registry`.
 *
 * Run: deno run -A bench/prefetch.ts [--delay 20] [--runs 5] [--big-mb 32] [--refill 262144]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Image } from "../ffi/image.ts";
import { openLayer } from "../ffi/layer.ts";
import { callDaemon, type MountInfo } from "../src/mount/mod.ts";
import { openRepository, pushBlob } from "../src/registry/mod.ts";
import { resolvePrefetchList } from "../src/trace/mod.ts";
import { randomBytes, sha256, vector } from "../tests/_helpers.ts";
import { type DelayLine, type LoggedRequest, startDelayLine } from "./_delay_line.ts";
import { cli, isMounted } from "./_first_read_run.ts";
import { createNetns, type Netns } from "./_netns.ts";
import { type NsRegistry, pingRegistry, startRegistryIn } from "./_ns_registry.ts";

const { values: flags } = parseArgs({
  options: {
    delay: { type: "string", default: "20" },
    runs: { type: "string", default: "5" },
    "big-mb": { type: "string", default: "32" },
    refill: { type: "string", default: "262144" },
  },
});
const DELAY = Number(flags.delay);
const RUNS = Math.min(Math.max(Number(flags.runs), 1), 50);
const BIG = Number(flags["big-mb"]) << 20;
const REFILL = Number(flags.refill);
const HELLO_BLOB =
  "upstream/hello-world-registry/blobs/sha256/022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d";
const MODES = ["lazy", "replay", "list", "replay, settled"] as const;
const LIB_FILES = 256;
const LIB_SIZE = 16384;
/** The order /lib/ is read in: fixed, shuffled (so not the order the files sit on disk). */
const LIB_ORDER = Array.from({ length: LIB_FILES }, (_, i) => (i * 97) % LIB_FILES);
type Mode = typeof MODES[number];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (x: number) => x.toFixed(x < 10 ? 2 : 1);
const mib = (x: number) => `${(x / 1048576).toFixed(2)} MiB`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function dropCaches(): Promise<void> {
  await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3\n");
}

/** /hello of the hello-world image, read from the local layer blob. */
async function helloBytes(): Promise<Uint8Array<ArrayBuffer>> {
  const image = Image.open([openLayer(vector(HELLO_BLOB))]);
  try {
    const { ranges } = await resolvePrefetchList(image, ["/hello"]);
    const out = new Uint8Array(ranges.reduce((n, r) => n + r.count, 0));
    let at = 0;
    for (const r of ranges) at += image.pread(out.subarray(at, at + r.count), r.offset);
    return out.slice(0, 13256);
  } finally {
    image.close();
  }
}

/** Builds the layer blob (ext4 with /hello and /big.bin) with the overlaybd CLI. */
async function buildLayer(dir: string): Promise<{ blob: string; files: Map<string, string> }> {
  const root = `${dir}/root`;
  await Deno.mkdir(root, { recursive: true });
  const files = new Map<string, Uint8Array<ArrayBuffer>>([
    ["hello", await helloBytes()],
    ["big.bin", randomBytes(BIG, 7)],
  ]);
  await Deno.mkdir(`${root}/lib`);
  for (let i = 0; i < LIB_FILES; i++) files.set(`lib/m${i}.so`, randomBytes(LIB_SIZE, 100 + i));
  for (const [name, bytes] of files) {
    await Deno.writeFile(`${root}/${name}`, bytes, { mode: 0o755 });
  }
  await run("tar", [
    "-cf",
    `${dir}/layer.tar`,
    "-C",
    root,
    "--owner=0",
    "--group=0",
    "hello",
    "big.bin",
    "lib",
  ]);
  await cli(["create", `${dir}/up.data`, `${dir}/up.index`, "1"]);
  await Deno.writeTextFile(
    `${dir}/apply.json`,
    JSON.stringify({ lowers: [], upper: { data: `${dir}/up.data`, index: `${dir}/up.index` } }),
  );
  await cli(["apply", "--mkfs", `${dir}/layer.tar`, `${dir}/apply.json`]);
  await cli(["commit", "-z", "-t", `${dir}/up.data`, `${dir}/up.index`, `${dir}/blob`]);
  const sums = new Map<string, string>();
  for (const [name, bytes] of files) sums.set(name, await sha256(bytes));
  return { blob: `${dir}/blob`, files: sums };
}

interface Setup {
  tmp: string;
  runDir: string;
  mnt: string;
  repoBlobUrl: string;
  digest: string;
  size: number;
  files: Map<string, string>;
}

async function mountInfo(s: Setup): Promise<MountInfo> {
  const reply = await callDaemon(s.runDir, { op: "list" });
  const m = reply.mounts?.find((x) => x.dir === s.mnt);
  if (!m) throw new Error(`${s.mnt} is not mounted`);
  return m;
}

/** Mounts with an empty cache and `extra` config keys; returns the mount's ms. */
async function mount(s: Setup, extra: Record<string, unknown>): Promise<number> {
  const cacheDir = `${s.tmp}/cache`;
  await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  await Deno.writeTextFile(
    `${s.tmp}/overlaybd.json`,
    JSON.stringify({ cacheConfig: { cacheDir, cacheSizeGB: 4, refillSize: REFILL } }),
  );
  await Deno.writeTextFile(
    `${s.tmp}/config.v1.json`,
    JSON.stringify({
      repoBlobUrl: s.repoBlobUrl,
      lowers: [{ digest: s.digest, size: s.size }],
      upper: {},
      resultFile: "",
      ...extra,
    }),
  );
  await dropCaches();
  const t0 = performance.now();
  await cli([
    "mount",
    "--plain",
    "--config",
    `${s.tmp}/overlaybd.json`,
    "--run-dir",
    s.runDir,
    `${s.tmp}/config.v1.json`,
    s.mnt,
  ]);
  return performance.now() - t0;
}

async function umount(s: Setup): Promise<void> {
  await cli(["umount", "--run-dir", s.runDir, s.mnt]);
}

/** Reads a file whole and checks it; returns the ms it took. */
async function timedRead(s: Setup, name: string): Promise<number> {
  const t0 = performance.now();
  const bytes = await Deno.readFile(`${s.mnt}/${name}`);
  const took = performance.now() - t0;
  if ((await sha256(bytes)) !== s.files.get(name)) throw new Error(`/${name}: wrong bytes`);
  return took;
}

/** Reads every /lib file, one after the other in LIB_ORDER; returns the ms. */
async function readLib(s: Setup): Promise<number> {
  const t0 = performance.now();
  for (const i of LIB_ORDER) await timedRead(s, `lib/m${i}.so`);
  return performance.now() - t0;
}

async function settle(s: Setup): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const state = (await mountInfo(s)).prefetch?.state;
    if (state === "done") return performance.now() - t0;
    if (state !== "running") throw new Error(`prefetch is ${state ?? "not running"}`);
    await sleep(10);
  }
}

/** Records the trace: both files read through a recording mount. */
async function record(s: Setup): Promise<string> {
  const trace = `${s.tmp}/trace`;
  await Deno.writeFile(trace, new Uint8Array());
  await mount(s, { recordTracePath: trace });
  try {
    await timedRead(s, "hello");
    await readLib(s);
    await timedRead(s, "big.bin");
    await Deno.remove(`${trace}.lock`);
    for (let i = 0; !(await Deno.lstat(`${trace}.ok`).then(() => true, () => false)); i++) {
      if (i > 100) throw new Error("the trace was not written within 5 s");
      await sleep(50);
    }
  } finally {
    await umount(s);
  }
  return trace;
}

interface Result {
  mountMs: number;
  helloMs: number;
  libMs: number;
  bigMs: number;
  /** Until the replay ended ("replay, settled" only). */
  settleMs?: number;
  /** Range GETs the reads themselves caused or waited on (seen by the delay line during them). */
  readRequests: number;
  /** Bytes fetched by the mount in all (demand + prefetch), from the daemon. */
  fetched: number;
}

const rangeCount = (reqs: LoggedRequest[]) => reqs.filter((r) => r.range).length;

async function measure(s: Setup, line: DelayLine, mode: Mode, trace: string, list: string) {
  const extra = mode === "lazy" ? {} : { recordTracePath: mode === "list" ? list : trace };
  const mountMs = await mount(s, extra);
  try {
    const settleMs = mode === "replay, settled" ? await settle(s) : undefined;
    line.reset();
    const helloMs = await timedRead(s, "hello");
    const libMs = await readLib(s);
    const bigMs = await timedRead(s, "big.bin");
    const readRequests = rangeCount(line.requests);
    if (mode !== "lazy") await settle(s).catch(() => {}); // count the whole prefetch
    const fetched = (await mountInfo(s)).bytesFetched ?? NaN;
    return { mountMs, helloMs, libMs, bigMs, settleMs, readRequests, fetched };
  } finally {
    await umount(s);
  }
}

function printTable(results: Map<Mode, Result[]>): void {
  console.log(
    `\nmedians of ${RUNS} runs; ${DELAY} ms added round trip; refill ${REFILL} B; ` +
      `/big.bin ${mib(BIG)}. "read requests": Range GETs that the delay line saw while the ` +
      `files were read (the prefetch's own included).\n`,
  );
  console.log(
    "| mode | mount ms | first read /hello ms | /lib/ (256 × 16 KiB) ms | " +
      "/big.bin ms | all three ms | prefetch to the end ms | read requests | fetched in all |",
  );
  console.log(`|${" --- |".repeat(9)}`);
  for (const [mode, rs] of results) {
    const med = (f: (r: Result) => number) => median(rs.map(f));
    const settle = rs[0].settleMs === undefined ? "—" : ms(med((r) => r.settleMs!));
    console.log(
      `| ${mode} | ${ms(med((r) => r.mountMs))} | ${ms(med((r) => r.helloMs))} | ` +
        `${ms(med((r) => r.libMs))} | ${ms(med((r) => r.bigMs))} | ` +
        `${ms(med((r) => r.helloMs + r.libMs + r.bigMs))} | ${settle} | ` +
        `${med((r) => r.readRequests)} | ` +
        `${mib(med((r) => r.fetched))} |`,
    );
  }
}

async function main(): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "overlaybd-bench-" });
  const storage = `${tmp}/registry`;
  const runDir = `${tmp}/run`;
  const mnt = `${tmp}/mnt`;
  let storageMounted = false;
  let netns: Netns | undefined;
  let registry: NsRegistry | undefined;
  let line: DelayLine | undefined;
  try {
    await Deno.mkdir(mnt);
    await Deno.mkdir(storage);
    await run("mount", [
      "-t",
      "tmpfs",
      "-o",
      `size=${Math.max(256, 4 * (BIG >> 20))}m`,
      "tmpfs",
      storage,
    ]);
    storageMounted = true;
    const layer = await buildLayer(`${tmp}/build`);
    netns = await createNetns();
    registry = await startRegistryIn(netns, storage, 5000);
    const target = { hostname: netns.nsAddr, port: 5000 };
    const blob = await Deno.readFile(layer.blob);
    const repo = openRepository(`${netns.nsAddr}:5000/prefetch-bench`, { plain: true });
    let digest: string;
    try {
      digest = (await pushBlob(repo, blob)).digest;
    } finally {
      repo.close();
    }
    line = await startDelayLine(target);
    line.oneWayMs = DELAY / 2;
    const rtt = median(await pingRegistry({ hostname: "127.0.0.1", port: line.port }, 30));
    const s: Setup = {
      tmp,
      runDir,
      mnt,
      repoBlobUrl: `http://127.0.0.1:${line.port}/v2/prefetch-bench/blobs`,
      digest,
      size: blob.byteLength,
      files: layer.files,
    };
    console.log(
      `layer blob ${mib(blob.byteLength)}; RTT through the delay line ${ms(rtt)} ms; ` +
        `${Deno.osRelease()}`,
    );
    const trace = await record(s);
    const list = `${tmp}/list`;
    await Deno.writeTextFile(list, "/hello\n/lib/*\n/big.bin\n");
    console.log(`trace: ${((await Deno.stat(trace)).size - 24) / 24} records`);
    const results = new Map<Mode, Result[]>(MODES.map((m) => [m, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const mode of MODES) {
        const r = await measure(s, line, mode, trace, list);
        results.get(mode)!.push(r);
        console.log(
          `  run ${i + 1} ${mode}: mount ${ms(r.mountMs)} ms, /hello ${ms(r.helloMs)} ms, ` +
            `/lib/ ${ms(r.libMs)} ms, /big.bin ${ms(r.bigMs)} ms` +
            (r.settleMs === undefined ? "" : ` (after ${ms(r.settleMs)} ms of replay)`) +
            `, ${r.readRequests} requests during the reads, ${mib(r.fetched)} fetched`,
        );
      }
    }
    printTable(results);
  } finally {
    if (await isMounted(mnt)) await cli(["umount", "--run-dir", runDir, mnt]).catch(() => {});
    if (await isMounted(mnt)) await run("umount", ["-l", mnt]).catch(() => {});
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
  console.error(`prefetch: ${(err as Error).message} (everything it set up was removed)`);
  Deno.exit(1);
}
