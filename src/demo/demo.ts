/**
 * The end-to-end demo on built-in defaults: build an ext4 image of sample
 * files, turn it into an overlaybd layer blob (writable layer → commit →
 * ZFile → tar), read it back through the merged view and check that every
 * byte and a file inside the filesystem survived; then serve it from a local
 * registry, mount it lazily and read the file through the kernel.
 *
 * @module
 */

import { createWritableLayer } from "../../ffi/lsmt.ts";
import { commitLayer, exportView, importRaw, inspectFile, openView } from "../layer/mod.ts";
import { CorruptDataError } from "../errors.ts";
import { runTool } from "./run_tool.ts";
import { serveAndMountLazily } from "./serve_lazily.ts";

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /** Where to build; a new temporary directory when omitted. */
  workdir?: string;
  /** Keep the work directory afterwards. */
  keep?: boolean;
  /** Progress lines go here. */
  log?: (line: string) => void;
}

const IMAGE_MIB = 64;
const GREETING = "Hello from an overlaybd layer!\n";

async function sha256Hex(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function makeRootfs(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/etc`, { recursive: true });
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  await Deno.writeTextFile(`${dir}/hello.txt`, GREETING);
  await Deno.writeTextFile(`${dir}/etc/motd`, "overlaybd demo image\n".repeat(100));
  // Real binaries give the compressor realistic input.
  for (const bin of ["/usr/bin/ls", "/usr/bin/bash", "/usr/bin/tar", "/usr/bin/make"]) {
    try {
      await Deno.copyFile(bin, `${dir}/bin/${bin.split("/").pop()}`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}

/** Runs the demo; resolves with the blob path when every check passed. */
export async function runDemo(options: DemoOptions = {}): Promise<string> {
  const log = options.log ?? console.log;
  const work = options.workdir ?? await Deno.makeTempDir({ prefix: "overlaybd-demo-" });
  await Deno.mkdir(work, { recursive: true });
  const t0 = performance.now();
  const step = (msg: string) => log(`[${((performance.now() - t0) / 1000).toFixed(2)}s] ${msg}`);
  try {
    await makeRootfs(`${work}/rootfs`);
    await runTool("mkfs.ext4", [
      "-q",
      "-F",
      "-b",
      "4096",
      "-O",
      "^has_journal",
      "-d",
      `${work}/rootfs`,
      `${work}/raw.img`,
      `${IMAGE_MIB}M`,
    ]);
    step(`built a ${IMAGE_MIB} MiB ext4 image of sample files: ${work}/raw.img`);

    const layer = createWritableLayer(`${work}/writable_data`, `${work}/writable_index`, {
      virtualSize: IMAGE_MIB << 20,
    });
    let stored: number;
    try {
      stored = importRaw(`${work}/raw.img`, layer);
    } finally {
      layer.close();
    }
    step(`wrote ${stored} non-zero bytes into a writable layer`);

    const blob = `${work}/overlaybd.commit`;
    const size = commitLayer(`${work}/writable_data`, `${work}/writable_index`, blob, {
      zfile: { algorithm: "lz4" },
      tar: true,
      userTag: "overlaybd demo",
    });
    const info = inspectFile(blob);
    step(
      `committed the layer blob ${blob}: ${size} bytes (${info.chain.join(" → ")}, ` +
        `${info.zfile?.blocks} ZFile blocks, ${info.lsmt?.records} LSMT records, ` +
        `${(stored / size).toFixed(2)}x smaller than the data)`,
    );

    const image = openView([blob]);
    try {
      await exportView(image, `${work}/view.img`);
    } finally {
      image.close();
    }
    const [want, got] = [await sha256Hex(`${work}/raw.img`), await sha256Hex(`${work}/view.img`)];
    if (want !== got) {
      throw new CorruptDataError(`read-back view ${got} differs from the image ${want}`);
    }
    step(`read the whole device back through the layer: sha256 ${got.slice(0, 16)}… matches`);

    const text = await runTool("debugfs", ["-R", "cat /hello.txt", `${work}/view.img`]);
    if (text !== GREETING) throw new CorruptDataError(`/hello.txt reads ${JSON.stringify(text)}`);
    step(`debugfs reads /hello.txt from the view: ${JSON.stringify(text.trim())}`);

    if (Deno.uid() === 0) {
      await serveAndMountLazily(work, blob, "hello.txt", GREETING, step);
    } else {
      step("skipped serving and mounting: FUSE and loop devices need root");
    }
    step("demo passed");
    return blob;
  } finally {
    if (!options.keep && !options.workdir) await Deno.remove(work, { recursive: true });
  }
}
