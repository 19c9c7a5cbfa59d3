/**
 * Cold-start benchmark: the results — medians, the table with ratios, the
 * JSON file, the PNG charts and the generated section of
 * `docs/benchmarks.md` (between its `coldstart` markers).
 *
 * @module
 */

import type { LinkCheck } from "./_link.ts";
import type { Mode, Run } from "./_measure.ts";
import { type Bar, writeBarChart } from "./_plot.ts";

/** An image as benchmarked. */
export interface ImageInfo {
  name: string;
  workload: string;
  /** Packages in the base and the application layer. */
  packages: [number, number];
  /** Sum of the layer tars. */
  unpackedBytes: number;
  /** Sum of the gzip layer blobs. */
  gzipBytes: number;
  /** Sum of the overlaybd layer blobs. */
  obdBytes: number;
  /** `overlaybd obdconv`, whole command. */
  convertMs: number;
  /** `overlaybd record-trace`, whole command; absent without trace prefetch. */
  recordMs?: number;
}

/** The runs of one image over one link setting. */
export interface Cell {
  image: string;
  rateMbit: number;
  check: LinkCheck;
  runs: Run[];
}

/** Everything a benchmark run produced. */
export interface Results {
  date: string;
  command: string;
  host: { kernel: string; cpus: number; loadavg: string };
  rttMs: number;
  runsPerCell: number;
  /** Why mode (3) was not run, when it was not. */
  traceUnavailable?: string;
  images: ImageInfo[];
  cells: Cell[];
}

const MODE_LABEL: Record<Mode | "warm", string> = {
  oci: "(1) OCI pull + run",
  lazy: "(2) overlaybd lazy",
  trace: "(3) lazy + trace prefetch",
  warm: "(4) warm (overlaybd)",
};

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const of = (c: Cell, mode: Mode) => c.runs.filter((r) => r.mode === mode);
const sec = (ms: number) => Number.isNaN(ms) ? "n/a" : (ms / 1000).toFixed(2);
const mb = (b: number) => Number.isNaN(b) ? "n/a" : (b / 1e6).toFixed(1);
const ratio = (a: number, b: number) => Number.isNaN(a / b) ? "n/a" : (a / b).toFixed(2);
const pct = (a: number, b: number) => Number.isNaN(a / b) ? "n/a" : `${(100 * a / b).toFixed(1)}%`;

/** Median 1-minute load average at the start of a cell's runs. */
function load(c: Cell): string {
  const l = median(c.runs.map((r) => r.load1).filter((x) => x !== undefined));
  return Number.isNaN(l) ? "n/a" : l.toFixed(1);
}

/** Medians of a cell, ms and bytes. */
export function cellMedians(c: Cell) {
  const t = (m: Mode) => median(of(c, m).map((r) => r.totalMs));
  const b = (m: Mode) => median(of(c, m).map((r) => r.bytes));
  const obdWarm = [...of(c, "lazy"), ...of(c, "trace")].map((r) => r.warmMs);
  return {
    oci: t("oci"),
    ociPull: median(of(c, "oci").map((r) => r.pullMs)),
    lazy: t("lazy"),
    lazyPull: median(of(c, "lazy").map((r) => r.pullMs)),
    trace: t("trace"),
    warm: median(obdWarm),
    ociWarm: median(of(c, "oci").map((r) => r.warmMs)),
    ociBytes: b("oci"),
    lazyBytes: b("lazy"),
    traceBytes: b("trace"),
  };
}

/** The results table (markdown). */
export function resultsTable(r: Results): string {
  const lines = [
    "| image | link (measured RTT, rate) | (1) OCI s (pull) | (2) lazy s (rpull) | (3) trace s | " +
    "(4) warm s | warm OCI s | (1)/(2) | (3)/(4) | MB fetched (1) | (2) | (3) | " +
    "(2) / overlaybd image | host load |",
    `|${" --- |".repeat(14)}`,
  ];
  for (const c of r.cells) {
    const m = cellMedians(c);
    const img = r.images.find((i) => i.name === c.image)!;
    lines.push(
      `| ${c.image} | ${c.check.rttMs.toFixed(1)} ms, ${c.rateMbit} Mbit/s ` +
        `(${c.check.mbitPerS.toFixed(0)} measured) | ${sec(m.oci)} (${sec(m.ociPull)}) | ` +
        `${sec(m.lazy)} (${sec(m.lazyPull)}) | ${sec(m.trace)} | ${sec(m.warm)} | ` +
        `${sec(m.ociWarm)} | ${ratio(m.oci, m.lazy)} | ${ratio(m.trace, m.warm)} | ` +
        `${mb(m.ociBytes)} | ${mb(m.lazyBytes)} | ${mb(m.traceBytes)} | ` +
        `${pct(m.lazyBytes, img.obdBytes)} | ${load(c)} |`,
    );
  }
  return lines.join("\n");
}

function imagesTable(r: Results): string {
  const lines = [
    "| image | workload | packages (base + app) | unpacked MB | gzip MB | overlaybd MB | " +
    "obdconv s | record-trace s |",
    `|${" --- |".repeat(8)}`,
  ];
  for (const i of r.images) {
    lines.push(
      `| ${i.name} | ${i.workload} | ${i.packages[0]} + ${i.packages[1]} | ` +
        `${mb(i.unpackedBytes)} | ${mb(i.gzipBytes)} | ${mb(i.obdBytes)} | ` +
        `${sec(i.convertMs)} | ${sec(i.recordMs ?? NaN)} |`,
    );
  }
  return lines.join("\n");
}

/** Writes the two charts into `docs`; returns their file names. */
export async function writeCharts(r: Results, docs: string): Promise<string[]> {
  const time: Bar[] = [];
  const bytes: Bar[] = [];
  for (const c of r.cells) {
    const m = cellMedians(c);
    const group = `${c.image} ${c.rateMbit >= 1000 ? `${c.rateMbit / 1000}G` : `${c.rateMbit}M`}`;
    const add = (series: string, ms: number) => {
      if (!Number.isNaN(ms)) time.push({ group, series, value: ms / 1000 });
    };
    add(MODE_LABEL.oci, m.oci);
    add(MODE_LABEL.lazy, m.lazy);
    add(MODE_LABEL.trace, m.trace);
    add(MODE_LABEL.warm, m.warm);
    const addB = (series: string, b: number) => {
      if (!Number.isNaN(b)) bytes.push({ group, series, value: b / 1e6 });
    };
    addB(MODE_LABEL.oci, m.ociBytes);
    addB(MODE_LABEL.lazy, m.lazyBytes);
    addB(MODE_LABEL.trace, m.traceBytes);
  }
  const rtt = `${r.rttMs} ms RTT`;
  await writeBarChart(
    `${docs}/coldstart-time.png`,
    `Time to READY, median of ${r.runsPerCell} (${rtt})`,
    "seconds",
    time,
  );
  await writeBarChart(
    `${docs}/coldstart-bytes.png`,
    `Bytes fetched from the registry, median of ${r.runsPerCell}`,
    "MB",
    bytes,
  );
  return ["coldstart-time.png", "coldstart-bytes.png"];
}

const BEGIN = "<!-- coldstart:begin (generated by bench/coldstart/main.ts) -->";
const END = "<!-- coldstart:end -->";

/** The generated part of the cold-start section of docs/benchmarks.md. */
export function markdownSection(r: Results, charts: string[]): string {
  return [
    BEGIN,
    "",
    `Measured ${r.date} on ${r.host.cpus} cores, kernel ${r.host.kernel}, load average at the ` +
    `start ${r.host.loadavg}; ${r.runsPerCell} runs per cell, medians. Command:`,
    "",
    "```sh",
    r.command,
    "```",
    "",
    imagesTable(r),
    "",
    resultsTable(r),
    "",
    r.traceUnavailable ? `(3): n/a (${r.traceUnavailable}).\n` : "",
    ...charts.map((c) => `![${c}](${c})`),
    "",
    END,
  ].join("\n");
}

/** Puts `section` between the markers in `path`, or appends it. */
export async function updateDoc(path: string, heading: string, section: string): Promise<void> {
  const doc = await Deno.readTextFile(path);
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  const next = a >= 0 && b > a
    ? doc.slice(0, a) + section + doc.slice(b + END.length)
    : `${doc.trimEnd()}\n\n${heading}\n\n${section}\n`;
  await Deno.writeTextFile(path, next);
}
