/**
 * Cold-start benchmark (issue 6): how long a container takes from an empty
 * host to its workload's ready line, with the image pulled whole (plain OCI,
 * containerd's overlayfs snapshotter, gzip layers unpacked by `unpigz`) and
 * with overlaybd (lazy, and lazy with trace prefetch), and how many bytes
 * each fetches from the registry.
 *
 * Images are built from Debian packages installed here (`_images.ts`),
 * pushed as plain gzip OCI images to Debian's `docker-registry` in a network
 * namespace reached through a userspace delay line (`_link.ts`), converted
 * with `overlaybd obdconv`, and traced with `overlaybd record-trace` when
 * that command exists. Per image, link rate and run, in this order and each
 * on a fresh stack with the page cache dropped (`_measure.ts`):
 * (1) `ctr image pull` + `ctr run`; (2) `overlaybd rpull` + `ctr run
 * --snapshotter overlaybd`; (3) the same for the traced image; and after
 * each, (4) the same `ctr run` again, everything local.
 *
 * Needs root, `ip`, `tc`, loop devices, FUSE, containerd and runc; installs
 * missing Debian packages (`_setup.ts`). Cleans up namespaces, mounts,
 * processes and loop devices on failure and on Ctrl-C too.
 *
 * Run: deno run -A bench/coldstart/main.ts [--runs 5] [--images python,node,gcc]
 *      [--rates 1000,100] [--rtt 20] [--no-docs]
 * Results go to bench/out/coldstart/results.json, and with 5 runs or more to docs/
 * (coldstart-results.json, coldstart-*.png, a section of benchmarks.md);
 * `--from-json FILE` writes docs/ again from such a file without measuring.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openRepository, resolveImage } from "../../src/registry/mod.ts";
import { buildImage, pushImage } from "./_build_image.ts";
import { IMAGES } from "./_images.ts";
import { type Link, openLink } from "./_link.ts";
import { measureRun, type Mode, overlaybd, type Run, withStack } from "./_measure.ts";
import {
  type Cell,
  type ImageInfo,
  markdownSection,
  type Results,
  resultsTable,
  updateDoc,
  writeCharts,
} from "./_report.ts";
import { ensurePackages } from "./_setup.ts";

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    images: { type: "string", default: "python,node,gcc" },
    rates: { type: "string", default: "1000,100" },
    rtt: { type: "string", default: "20" },
    "no-docs": { type: "boolean", default: false },
    "from-json": { type: "string" },
  },
});
const RUNS = Number(flags.runs);
const NAMES = flags.images.split(",");
const RATES = flags.rates.split(",").map(Number);
const RTT = Number(flags.rtt);
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 50) throw new Error(`bad --runs ${flags.runs}`);
for (const n of NAMES) {
  if (!IMAGES[n]) throw new Error(`unknown image ${n}; known: ${Object.keys(IMAGES).join(",")}`);
}
if (RATES.some((r) => !(r > 0 && r <= 10_000))) throw new Error(`bad --rates ${flags.rates}`);
if (!(RTT >= 0 && RTT <= 1000)) throw new Error(`bad --rtt ${flags.rtt}`);

const DOCS = new URL("../../docs/", import.meta.url).pathname;
const OUT = new URL("../out/coldstart/", import.meta.url).pathname;
const log = (line: string) => console.error(`coldstart: ${line}`);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Why trace prefetch cannot be measured, or undefined when it can. */
async function traceUnavailable(signal: AbortSignal): Promise<string | undefined> {
  try {
    await overlaybd(["record-trace", "--help"], signal);
    return undefined;
  } catch {
    return "trace prefetch not available: this build has no 'overlaybd record-trace'";
  }
}

async function obdBytes(host: string, name: string, tag: string): Promise<number> {
  const repo = openRepository(`${host}/${name}`, { plain: true });
  try {
    const { manifest } = await resolveImage(repo, tag);
    return manifest.layers.reduce((n, l) => n + l.size, 0);
  } finally {
    repo.close();
  }
}

/** Pushes, converts and (when it can) traces each image; returns what it made. */
async function prepareImages(
  link: Link,
  tmp: string,
  noTrace: string | undefined,
  signal: AbortSignal,
): Promise<{ infos: ImageInfo[]; blobs: Map<string, string> }> {
  const infos: ImageInfo[] = [];
  const blobs = new Map<string, string>();
  for (const name of NAMES) {
    const spec = IMAGES[name];
    const image = await buildImage(spec, log);
    const src = await pushImage(image, link.direct, "oci");
    blobs.set(name, image.layers[image.layers.length - 1].descriptor.digest);
    let t0 = performance.now();
    await overlaybd(
      ["obdconv", "--plain", "--no-dedup", src, `${link.direct}/${name}:obd`],
      signal,
    );
    const convertMs = performance.now() - t0;
    const info: ImageInfo = {
      name,
      workload: spec.workload,
      packages: [image.packages[0].length, image.packages[1].length],
      unpackedBytes: image.unpackedBytes,
      gzipBytes: image.gzipBytes,
      obdBytes: await obdBytes(link.direct, name, "obd"),
      convertMs,
    };
    log(
      `${name}: ${(image.unpackedBytes / 1e6).toFixed(0)} MB unpacked, gzip ` +
        `${(image.gzipBytes / 1e6).toFixed(0)} MB, overlaybd ${
          (info.obdBytes / 1e6).toFixed(0)
        } MB ` +
        `(obdconv ${s(convertMs)})`,
    );
    if (!noTrace) {
      const dir = await Deno.makeTempDir({ dir: tmp, prefix: `record-${name}-` });
      t0 = performance.now();
      await withStack(dir, link, (ctd) =>
        overlaybd([
          "record-trace",
          "--plain",
          "--address",
          ctd.address,
          "--namespace",
          ctd.namespace,
          "--time",
          "120",
          "--net-host", // as the measured runs have it
          `${link.host}/${name}:obd`,
          `${link.host}/${name}:trace`,
        ], signal));
      info.recordMs = performance.now() - t0;
      log(`${name}: traced in ${s(info.recordMs)}`);
    }
    infos.push(info);
  }
  return { infos, blobs };
}

async function measureCells(
  link: Link,
  tmp: string,
  modes: Mode[],
  blobs: Map<string, string>,
  signal: AbortSignal,
): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const rateMbit of RATES) {
    await link.setRate(rateMbit);
    for (const name of NAMES) {
      const check = await link.check(name, blobs.get(name)!);
      log(
        `${name} at ${rateMbit} Mbit/s: RTT ${check.rttMs.toFixed(1)} ms, ` +
          `64 MiB in ${check.mbitPerS.toFixed(0)} Mbit/s`,
      );
      if (Math.abs(check.rttMs - RTT) > 3) log(`  warning: RTT is more than 3 ms off ${RTT} ms`);
      const runs: Run[] = [];
      for (let i = 0; i < RUNS; i++) {
        for (const mode of modes) {
          signal.throwIfAborted();
          const tag = mode === "oci" ? "oci" : mode === "lazy" ? "obd" : "trace";
          const dir = await Deno.makeTempDir({ dir: tmp, prefix: `run-${name}-${mode}-` });
          const r = await measureRun(dir, link, mode, `${link.host}/${name}:${tag}`, signal);
          await Deno.remove(dir, { recursive: true }).catch(() => {});
          runs.push(r);
          log(
            `  run ${i + 1} ${mode}: ${s(r.totalMs)} (pull ${s(r.pullMs)}, run ${s(r.runMs)}), ` +
              `${(r.bytes / 1e6).toFixed(1)} MB in ${r.requests} requests; warm ${s(r.warmMs)} ` +
              `(load ${r.load1})`,
          );
        }
      }
      cells.push({ image: name, rateMbit, check, runs });
    }
  }
  return cells;
}

/** Writes the results JSON, charts and section of docs/benchmarks.md. */
async function writeDocs(results: Results): Promise<void> {
  await Deno.writeTextFile(`${DOCS}coldstart-results.json`, JSON.stringify(results, null, 2));
  const charts = await writeCharts(results, DOCS);
  await updateDoc(
    `${DOCS}benchmarks.md`,
    "## Cold start (`deno run -A bench/coldstart/main.ts`)",
    markdownSection(results, charts),
  );
  // The section's tables as deno fmt aligns them, so `deno fmt --check` stays clean.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", `${DOCS}benchmarks.md`, `${DOCS}coldstart-results.json`],
  }).output();
  if (!fmt.success) log("deno fmt of docs/benchmarks.md failed; run it by hand");
  log(`wrote docs/coldstart-results.json, ${charts.join(", ")} and docs/benchmarks.md`);
}

async function main(signal: AbortSignal): Promise<void> {
  if (flags["from-json"]) {
    // Only the report, from the results a run wrote (bench/out/coldstart/results.json).
    return await writeDocs(JSON.parse(await Deno.readTextFile(flags["from-json"])));
  }
  if (Deno.uid() !== 0) throw new Error("needs root (network namespaces, mounts, containerd)");
  await ensurePackages(NAMES.flatMap((n) => IMAGES[n].packages), log);
  const noTrace = await traceUnavailable(signal);
  if (noTrace) log(`(3): n/a (${noTrace})`);
  const modes: Mode[] = noTrace ? ["oci", "lazy"] : ["oci", "lazy", "trace"];
  const loadavg = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  await Deno.mkdir(OUT, { recursive: true });
  const tmp = await Deno.makeTempDir({ prefix: "overlaybd-coldstart-" });
  let link: Link | undefined;
  try {
    link = await openLink(tmp, RTT);
    log(`registry ${link.direct}, through the delay line at ${link.host}, ${RTT} ms RTT`);
    const { infos: images, blobs } = await prepareImages(link, tmp, noTrace, signal);
    const cells = await measureCells(link, tmp, modes, blobs, signal);
    const results: Results = {
      date: new Date().toISOString().slice(0, 10),
      command: `deno run -A bench/coldstart/main.ts --runs ${RUNS} --images ${NAMES.join(",")} ` +
        `--rates ${RATES.join(",")} --rtt ${RTT}`,
      host: { kernel: Deno.osRelease(), cpus: navigator.hardwareConcurrency, loadavg },
      rttMs: RTT,
      runsPerCell: RUNS,
      traceUnavailable: noTrace,
      images,
      cells,
    };
    await Deno.writeTextFile(`${OUT}results.json`, JSON.stringify(results, null, 2));
    console.log(`\n${resultsTable(results)}\n`);
    if (noTrace) console.log(`(3): n/a (${noTrace})`);
    if (RUNS < 5) log(`only ${RUNS} runs per cell: not written to docs/ (needs --runs 5 or more)`);
    if (!flags["no-docs"] && RUNS >= 5) await writeDocs(results);
  } finally {
    await link?.close();
    await Deno.remove(tmp, { recursive: true }).catch((e) => log(e.message));
  }
}

const abort = new AbortController();
const onSignal = () => {
  log("interrupted: cleaning up");
  abort.abort(new Error("interrupted"));
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
try {
  await main(abort.signal);
} catch (err) {
  console.error(`coldstart: ${(err as Error).message} (everything it set up was removed)`);
  Deno.exit(1);
} finally {
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}
