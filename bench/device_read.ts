/**
 * Read speed of a mounted image through the FUSE + loop frontend, next to
 * the same raw ext4 image on a plain loop device, in the same run:
 *
 * - sequential MB/s of one big file: `dd bs=1M iflag=direct` (the device
 *   path alone) and buffered `dd bs=1M` after dropping caches (what a
 *   program sees: ext4 read-ahead decides the request sizes), the latter at
 *   several loop read-ahead sizes;
 * - 4 KiB random reads with fio (O_DIRECT, libaio) at queue depth 1 and 32.
 *
 * Everything sits on a tmpfs the benchmark mounts, so the layer files are
 * "fully cached" and the raw image costs no disk I/O either. Variants: the
 * raw image on a plain loop device; the image imported as a layer and
 * committed as plain LSMT; the same committed as LZ4 ZFile with CRCs (what
 * a registry serves). Needs root, /dev/fuse, mkfs.ext4, dd and fio.
 *
 * Run: deno run -A bench/device_read.ts [--file-mib N] [--runtime S]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Image } from "../ffi/image.ts";
import { openLayer } from "../ffi/layer.ts";
import { createWritableLayer } from "../ffi/lsmt.ts";
import {
  attachLoop,
  detachLoop,
  type DeviceHost,
  mountExt4,
  openDeviceHost,
  unmount,
} from "../src/device/mod.ts";
import { commitLayer, importRaw } from "../src/layer/mod.ts";

const { values: flags } = parseArgs({
  options: {
    "file-mib": { type: "string", default: "192" },
    runtime: { type: "string", default: "5" },
  },
});
const FILE_MIB = Number(flags["file-mib"]);
const IMAGE_MIB = FILE_MIB + 64;
const RUNTIME_S = Number(flags.runtime);
const READ_AHEADS_KB = [128, 1024, 4096];

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${text}`);
  return text;
}

async function dropCaches(): Promise<void> {
  await run("sync", []);
  await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3\n");
}

/** Half random, half text per 4 KiB block: LZ4 compresses it about 2:1, like binaries do. */
async function writeContent(path: string, mib: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1 << 20);
  const text = new TextEncoder().encode("overlaybd benchmark block; ".repeat(80));
  let x = 0x2545f491;
  try {
    for (let m = 0; m < mib; m++) {
      for (let b = 0; b < chunk.length; b += 4096) {
        for (let i = 0; i < 2048; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          chunk[b + i] = x & 0xff;
        }
        chunk.set(text.subarray(0, 2048), b + 2048);
      }
      await f.write(chunk);
    }
  } finally {
    f.close();
  }
}

/** MB/s from dd's own summary line ("N bytes (...) copied, S s, ..."). */
async function ddMBps(file: string, direct: boolean): Promise<number> {
  if (!direct) await dropCaches();
  const args = [`if=${file}`, "of=/dev/null", "bs=1M"];
  if (direct) args.push("iflag=direct");
  const text = await run("dd", args);
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(text);
  if (!m) throw new Error(`cannot parse dd output: ${text}`);
  return Number(m[1]) / Number(m[2]) / 1e6;
}

async function median(f: () => Promise<number>, n = 5): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await f());
  return xs.sort((a, b) => a - b)[Math.floor(n / 2)];
}

async function fioIops(file: string, depth: number): Promise<number> {
  const text = await run("fio", [
    "--name=rand",
    `--filename=${file}`,
    "--rw=randread",
    "--bs=4k",
    "--direct=1",
    "--ioengine=libaio",
    `--iodepth=${depth}`,
    `--runtime=${RUNTIME_S}`,
    "--time_based",
    "--ramp_time=1",
    "--output-format=json",
  ]);
  return JSON.parse(text.slice(text.indexOf("{"))).jobs[0].read.iops;
}

interface Variant {
  label: string;
  device: string;
  mnt: string;
}

interface Row {
  direct: number;
  buffered: Record<number, number>;
  qd1: number;
  qd32: number;
}

async function measure(v: Variant): Promise<Row> {
  const file = `${v.mnt}/big`;
  const sys = `/sys/block/${v.device.slice("/dev/".length)}/queue/read_ahead_kb`;
  const buffered: Record<number, number> = {};
  for (const ra of READ_AHEADS_KB) {
    await Deno.writeTextFile(sys, `${ra}\n`);
    buffered[ra] = await median(() => ddMBps(file, false));
  }
  const direct = await median(() => ddMBps(file, true));
  const qd1 = await fioIops(file, 1);
  const qd32 = await fioIops(file, 32);
  return { direct, buffered, qd1, qd32 };
}

function table(rows: Map<string, Row>): void {
  const base = rows.get("plain loop")!;
  const cols = [
    "seq direct MB/s",
    ...READ_AHEADS_KB.map((ra) => `seq buffered ra=${ra}K MB/s`),
    "4K QD1 IOPS",
    "4K QD32 IOPS",
  ];
  const values = (
    r: Row,
  ) => [r.direct, ...READ_AHEADS_KB.map((ra) => r.buffered[ra]), r.qd1, r.qd32];
  console.log(`| variant | ${cols.join(" | ")} |`);
  console.log(`| --- | ${cols.map(() => "---").join(" | ")} |`);
  for (const [label, r] of rows) {
    const cells = values(r).map((x, i) => {
      const ratio = label === "plain loop" ? "" : ` (${(x / values(base)[i]).toFixed(2)}×)`;
      return `${Math.round(x)}${ratio}`;
    });
    console.log(`| ${label} | ${cells.join(" | ")} |`);
  }
}

async function main(): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "overlaybd-bench-" });
  await run("mount", ["-t", "tmpfs", "-o", `size=${3 * IMAGE_MIB + 64}m`, "tmpfs", work]);
  let host: DeviceHost | undefined;
  const mounted: string[] = [];
  let plain: string | undefined;
  try {
    console.log(`building a ${IMAGE_MIB} MiB ext4 image with a ${FILE_MIB} MiB file ...`);
    await Deno.mkdir(`${work}/src`);
    await writeContent(`${work}/src/big`, FILE_MIB);
    await run("mkfs.ext4", [
      "-q",
      "-F",
      "-b",
      "4096",
      "-d",
      `${work}/src`,
      `${work}/raw.img`,
      `${IMAGE_MIB}M`,
    ]);
    await Deno.remove(`${work}/src`, { recursive: true });
    const layer = createWritableLayer(`${work}/w.data`, `${work}/w.index`, {
      virtualSize: IMAGE_MIB << 20,
    });
    try {
      importRaw(`${work}/raw.img`, layer);
    } finally {
      layer.close();
    }
    commitLayer(`${work}/w.data`, `${work}/w.index`, `${work}/layer.lsmt`);
    commitLayer(`${work}/w.data`, `${work}/w.index`, `${work}/layer.zfile`, {
      zfile: { algorithm: "lz4" },
    });
    await Deno.remove(`${work}/w.data`);
    await Deno.remove(`${work}/w.index`);
    for (const f of ["raw.img", "layer.lsmt", "layer.zfile"]) {
      console.log(`  ${f}: ${((await Deno.stat(`${work}/${f}`)).size / 2 ** 20).toFixed(1)} MiB`);
    }

    host = await openDeviceHost({ fuseDir: `${work}/fuse` });
    const variants: Variant[] = [];
    plain = (await attachLoop(`${work}/raw.img`, { readOnly: true })).device;
    variants.push({ label: "plain loop", device: plain, mnt: `${work}/mnt-plain` });
    for (const kind of ["lsmt", "zfile"]) {
      const image = Image.open([openLayer(`${work}/layer.${kind}`)]);
      const dev = await host.attach(kind, image, { readOnly: true });
      if (!dev.directIo) console.warn(`warning: ${dev.loopDevice} runs without direct I/O`);
      const label = kind === "lsmt" ? "FUSE, LSMT layer" : "FUSE, LZ4 ZFile layer";
      variants.push({ label, device: dev.loopDevice, mnt: `${work}/mnt-${kind}` });
    }
    for (const v of variants) {
      await Deno.mkdir(v.mnt);
      await mountExt4(v.device, v.mnt, { readOnly: true });
      mounted.push(v.mnt);
    }
    const rows = new Map<string, Row>();
    for (const v of variants) {
      console.log(`measuring ${v.label} (${v.device}) ...`);
      rows.set(v.label, await measure(v));
    }
    console.log(
      `\n${FILE_MIB} MiB file, ${Deno.osRelease()}, ${navigator.hardwareConcurrency} cores; ` +
        `medians of 5 for dd, fio ${RUNTIME_S}s per run; ratios against plain loop\n`,
    );
    table(rows);
  } finally {
    for (const m of mounted) await unmount(m).catch((e) => console.error(e.message));
    if (plain) await detachLoop(plain).catch((e) => console.error(e.message));
    await host?.close().catch((e) => console.error(e.message));
    await run("umount", [work]).catch((e) => console.error(e.message));
    await Deno.remove(work, { recursive: true });
  }
}

await main();
