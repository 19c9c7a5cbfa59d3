/**
 * Conversion throughput of `overlaybd obdconv` next to `gzip -d` of the same
 * layers in the same run (issue 4's goal: ≥ 0.8×, gzip decode being the
 * bottleneck), and the size of the converted image next to the .tar.gz size.
 *
 * The source image is built here, offline: one GNU tar per system directory
 * (default /usr/bin, /usr/share/locale, /usr/share/man: ≥ 300 MB together),
 * each `gzip -6`, put in an OCI layout with their diff_ids. Then, N times
 * each and alternating: `gzip -dc` of every layer to /dev/null, and
 * `deno run -A main.ts obdconv oci:SRC:src oci:OUT:obd --no-dedup` (the CLI
 * as a user runs it, deno's startup included), into a fresh OUT each run.
 * Throughput is uncompressed tar bytes over the median wall time. Both run
 * under /usr/bin/time, so the CPU seconds each used (all threads) are
 * reported too: on a machine shared with other work the wall times swing,
 * the CPU seconds much less; the load average is printed with the result.
 *
 * `--source DIR` keeps the source image in DIR and reuses it on later runs
 * (building it takes longer than converting it).
 *
 * Run: deno run -A bench/convert.ts [--runs 3] [--dirs usr/bin,usr/share/locale,usr/share/man]
 *        [--source DIR]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { REF_NAME, resolveLayoutImage } from "../src/convert/mod.ts";
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from "../src/registry/mod.ts";

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    dirs: { type: "string", default: "usr/bin,usr/share/locale,usr/share/man" },
    source: { type: "string" },
  },
});
const RUNS = Math.min(Math.max(Number(flags.runs) || 3, 1), 20);
const DIRS = flags.dirs.split(",").map((d) => d.replace(/^\/+|\/+$/g, ""));
const MIN_TAR_BYTES = 300e6;
/** Bound on any one subprocess (tar, gzip, a conversion). */
const STEP_TIMEOUT_MS = 15 * 60_000;
const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;
const MB = 1e6;

const abort = new AbortController();

interface Output {
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd`, killed on timeout or Ctrl-C; `discard` sends its stdout to
 * /dev/null. @throws {Error} when it fails
 */
async function run(cmd: string, args: string[], discard = false): Promise<Output> {
  const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(STEP_TIMEOUT_MS)]);
  const stdout = discard ? "null" : "piped";
  const out = await new Deno.Command(cmd, { args, stdout, stderr: "piped", signal }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) {
    const why = signal.aborted ? "killed (timeout or interrupt)" : `exit ${out.code}`;
    throw new Error(`${cmd} ${args.join(" ")}: ${why}: ${text(out.stderr).trim()}`);
  }
  return { stdout: discard ? "" : text(out.stdout), stderr: text(out.stderr) };
}

/** Runs a shell pipeline (paths are ours, no user input beyond --dirs). */
const sh = (script: string) => run("bash", ["-euo", "pipefail", "-c", script]);

async function sha256File(path: string): Promise<string> {
  const { stdout } = await run("sha256sum", [path]);
  return `sha256:${stdout.split(" ")[0]}`;
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await f();
  return (performance.now() - start) / 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

interface Layer {
  dir: string;
  tarBytes: number;
  diffId: string;
  digest: string;
  size: number;
  path: string;
}

/** Tars `dir` (with its parents as directory entries) and gzips it into the layout. */
async function buildLayer(layout: string, tmp: string, dir: string, i: number): Promise<Layer> {
  const tar = `${tmp}/layer${i}.tar`;
  const parents = dir.split("/").slice(0, -1).map((_, k, a) => a.slice(0, k + 1).join("/"));
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  await sh(
    `tar -C / --numeric-owner -cf ${q(tar)} --no-recursion ${parents.map(q).join(" ")} ` +
      `--recursion ${q(dir)}`,
  );
  const tarBytes = (await Deno.stat(tar)).size;
  const diffId = await sha256File(tar);
  const gz = `${tmp}/layer${i}.tar.gz`;
  await sh(`gzip -6 -c ${q(tar)} > ${q(gz)}`);
  await Deno.remove(tar);
  const digest = await sha256File(gz);
  const path = `${layout}/blobs/sha256/${digest.slice(7)}`;
  await Deno.rename(gz, path);
  return { dir, tarBytes, diffId, digest, size: (await Deno.stat(path)).size, path };
}

/** Writes `json` as a blob of the layout; its descriptor. */
async function writeJsonBlob(layout: string, mediaType: string, json: unknown) {
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  const hex = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeFile(`${layout}/blobs/sha256/${hex}`, bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/** The source image: an OCI layout tagged `src` with one gzip layer per directory. */
async function buildImage(layout: string, tmp: string): Promise<Layer[]> {
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  // Two at a time: this machine's CPUs, and gzip -6 is the slow part.
  const layers: Layer[] = [];
  for (let i = 0; i < DIRS.length; i += 2) {
    const pair = DIRS.slice(i, i + 2).map((d, k) => buildLayer(layout, tmp, d, i + k));
    layers.push(...await Promise.all(pair));
  }
  const config = await writeJsonBlob(layout, OCI_CONFIG, {
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created_by: `tar of /${l.dir}` })),
  });
  const manifest = await writeJsonBlob(layout, OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: layers.map((l) => ({ mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.size })),
  });
  await Deno.writeTextFile(`${layout}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    `${layout}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...manifest, annotations: { [REF_NAME]: "src" } }],
    }),
  );
  return layers;
}

/** The layers of a source image kept by an earlier run with `--source`, if any. */
async function readKept(layout: string): Promise<Layer[] | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${layout}/bench.json`));
  } catch {
    return undefined;
  }
}

/** Where `/usr/bin/time` writes what a command used. */
let cpuFile = "";

/**
 * {@linkcode run} under `/usr/bin/time`: also the CPU seconds (user + system,
 * all threads) the command used — a figure other load on the machine
 * barely changes, unlike the wall time.
 */
async function runCounted(cmd: string, args: string[], discard = false) {
  const out = await run("/usr/bin/time", ["-f", "%U %S", "-o", cpuFile, cmd, ...args], discard);
  const [user, sys] = (await Deno.readTextFile(cpuFile)).trim().split(/\s+/).map(Number);
  return { ...out, cpu: user + sys };
}

/** `gzip -dc` of every layer, one after the other, as the conversion reads them; CPU seconds. */
async function gunzipAll(layers: Layer[]): Promise<number> {
  let cpu = 0;
  for (const l of layers) cpu += (await runCounted("gzip", ["-dc", l.path], true)).cpu;
  return cpu;
}

/** What the last conversion printed to stderr (its per-layer lines). */
let lastLog = "";

/** One conversion into a fresh `out`; the sum of its layer blobs and the CPU seconds used. */
async function convertOnce(layout: string, out: string, work: string) {
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const { stderr, cpu } = await runCounted(Deno.execPath(), [
    "run",
    "-A",
    MAIN_TS,
    "obdconv",
    `oci:${layout}:src`,
    `oci:${out}:obd`,
    "--no-dedup",
    "--workdir",
    work,
  ]);
  lastLog = stderr.trim();
  const { manifest } = await resolveLayoutImage(out, "obd");
  return { outBytes: manifest.layers.reduce((sum, l) => sum + l.size, 0), cpu };
}

async function main(): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "overlaybd-bench-convert-" });
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const layout = flags.source ?? `${tmp}/src`;
    cpuFile = `${tmp}/cpu`;
    const work = `${tmp}/work`;
    await Deno.mkdir(work);
    let layers: Layer[] = [];
    const kept = flags.source ? await readKept(layout) : undefined;
    const buildSecs = kept ? 0 : await timed(async () => layers = await buildImage(layout, tmp));
    if (kept) layers = kept;
    else if (flags.source) await Deno.writeTextFile(`${layout}/bench.json`, JSON.stringify(layers));
    const tarBytes = layers.reduce((s, l) => s + l.tarBytes, 0);
    const gzBytes = layers.reduce((s, l) => s + l.size, 0);
    console.log(
      kept
        ? `source image kept in ${layout}:`
        : `source image built in ${buildSecs.toFixed(1)} s (tar, gzip -6):`,
    );
    for (const l of layers) {
      console.log(`  /${l.dir}: ${mb(l.tarBytes)} tar, ${mb(l.size)} .tar.gz ${l.digest}`);
    }
    if (tarBytes < MIN_TAR_BYTES) {
      throw new Error(
        `only ${mb(tarBytes)} of tar from ${DIRS.join(", ")}; want ≥ ${mb(MIN_TAR_BYTES)}`,
      );
    }
    await gunzipAll(layers); // warm the page cache for both contenders (and check /usr/bin/time)
    const gunzip: number[] = [];
    const convert: number[] = [];
    const gunzipCpu: number[] = [];
    const convertCpu: number[] = [];
    let outBytes = 0;
    const loadBefore = Deno.loadavg()[0];
    for (let i = 0; i < RUNS; i++) {
      gunzip.push(await timed(async () => gunzipCpu.push(await gunzipAll(layers))));
      convert.push(
        await timed(async () => {
          const r = await convertOnce(layout, `${tmp}/out`, work);
          outBytes = r.outBytes;
          convertCpu.push(r.cpu);
        }),
      );
      console.log(
        `run ${i + 1}: gzip -dc ${gunzip[i].toFixed(2)} s (CPU ${gunzipCpu[i].toFixed(2)} s), ` +
          `obdconv ${convert[i].toFixed(2)} s (CPU ${convertCpu[i].toFixed(2)} s)`,
      );
    }
    const load = [loadBefore, Deno.loadavg()[0]].map((x) => x.toFixed(1)).join(" → ");
    console.log(`obdconv's log, last run:\n  ${lastLog.replaceAll("\n", "\n  ")}`);
    const gunzipRate = tarBytes / median(gunzip);
    const convertRate = tarBytes / median(convert);
    console.log(
      `\nmedians of ${RUNS} runs, ${layers.length} layers, ${Deno.osRelease()}, ` +
        `${navigator.hardwareConcurrency} CPUs, load average ${load}\n`,
    );
    console.log(`uncompressed tar:        ${tarBytes} bytes (${mb(tarBytes)})`);
    console.log(
      `gzip -dc (all layers):   ${median(gunzip).toFixed(2)} s, ${mb(gunzipRate)}/s, ` +
        `CPU ${median(gunzipCpu).toFixed(2)} s`,
    );
    console.log(
      `obdconv --no-dedup:      ${median(convert).toFixed(2)} s, ${mb(convertRate)}/s, ` +
        `CPU ${median(convertCpu).toFixed(2)} s`,
    );
    console.log(
      `conversion / gzip -d:    ${(convertRate / gunzipRate).toFixed(2)}× (goal ≥ 0.8×)`,
    );
    console.log(
      `size: .tar.gz ${gzBytes} bytes (${mb(gzBytes)}), overlaybd layers ${outBytes} bytes ` +
        `(${mb(outBytes)}, ${(outBytes / gzBytes).toFixed(2)}× the .tar.gz)`,
    );
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await Deno.remove(tmp, { recursive: true }).catch((e) => console.error(e.message));
  }
}

try {
  await main();
} catch (err) {
  console.error(`convert: ${(err as Error).message} (its temporary files were removed)`);
  Deno.exit(1);
}
