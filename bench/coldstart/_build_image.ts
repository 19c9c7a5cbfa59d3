/**
 * Cold-start benchmark: builds an {@linkcode ImageSpec} as a plain OCI
 * image with two gzip layers (`tar` of the files in place, `pigz`), kept in
 * `bench/out/coldstart/images/<name>/` and rebuilt only when its file lists
 * or workload change, and pushes it to a registry.
 *
 * @module
 */

import {
  type Descriptor,
  digestOf,
  type ImageManifest,
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  openRepository,
  pushBlob,
  pushManifest,
} from "../../src/registry/mod.ts";
import { IMAGE_ENV, type ImageSpec } from "./_images.ts";
import { packageClosure, packageFiles } from "./_packages.ts";

/** A built image on disk. */
export interface BuiltImage {
  name: string;
  dir: string;
  /** Layer blobs, bottom first, with their diff IDs and unpacked (tar) sizes. */
  layers: { file: string; descriptor: Descriptor; diffId: string; tarBytes: number }[];
  config: Uint8Array<ArrayBuffer>;
  manifest: Uint8Array<ArrayBuffer>;
  /** Packages of each layer. */
  packages: string[][];
  /** Sum of the layers' tar sizes. */
  unpackedBytes: number;
  /** Sum of the gzip blobs' sizes. */
  gzipBytes: number;
}

const OUT = new URL("../out/coldstart/images/", import.meta.url).pathname;
const SKELETON_DIRS: Record<string, number> = {
  dev: 0o755,
  proc: 0o555,
  sys: 0o555,
  run: 0o755,
  root: 0o700,
  tmp: 0o1777,
  "var/tmp": 0o1777,
};
const MERGED_USR = ["bin", "lib", "lib64", "sbin"];
/** Changes when the build itself changes, so that cached images are rebuilt. */
const BUILD_VERSION = 2;

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function sha256File(path: string): Promise<string> {
  return `sha256:${(await run("sha256sum", [path])).split(" ")[0]}`;
}

async function sha256Text(text: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The base layer's own files: merged-/usr links, mount points, users, the loader cache. */
async function writeBaseSkeleton(skel: string): Promise<string[]> {
  for (const [d, mode] of Object.entries(SKELETON_DIRS)) {
    await Deno.mkdir(`${skel}/${d}`, { recursive: true });
    await Deno.chmod(`${skel}/${d}`, mode);
  }
  for (const l of MERGED_USR) await Deno.symlink(`usr/${l}`, `${skel}/${l}`);
  await Deno.mkdir(`${skel}/etc`);
  await Deno.writeTextFile(`${skel}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
  await Deno.writeTextFile(`${skel}/etc/group`, "root:x:0:\n");
  await Deno.copyFile("/etc/ld.so.cache", `${skel}/etc/ld.so.cache`);
  return [
    ...Object.keys(SKELETON_DIRS),
    ...MERGED_USR,
    "etc/passwd",
    "etc/group",
    "etc/ld.so.cache",
  ];
}

async function writeAppSkeleton(skel: string, spec: ImageSpec): Promise<string[]> {
  await Deno.mkdir(`${skel}/app`, { recursive: true });
  for (const [name, text] of Object.entries(spec.files)) {
    await Deno.writeTextFile(`${skel}/app/${name}`, text);
  }
  return ["app", ...Object.keys(spec.files).map((n) => `app/${n}`)];
}

/** `tar` of `skelEntries` from `skel` then `files` from `/`, gzipped by pigz. */
async function buildLayer(
  dir: string,
  index: number,
  skel: string,
  skelEntries: string[],
  files: string[],
): Promise<BuiltImage["layers"][number]> {
  // The skeleton's entries and their parents come from the skeleton only, parents first.
  const skelSet = new Set(
    skelEntries.flatMap((e) => e.split("/").map((_, i, a) => a.slice(0, i + 1).join("/"))),
  );
  const list = `${dir}/layer${index}.files`;
  await Deno.writeTextFile(list, files.filter((f) => !skelSet.has(f)).join("\n") + "\n");
  const tar = `${dir}/layer${index}.tar`;
  await run("tar", [
    "--create",
    `--file=${tar}`,
    "--numeric-owner",
    "--no-recursion",
    "--format=pax",
    "--directory",
    skel,
    ...skelSet,
    "--directory",
    "/",
    "--verbatim-files-from",
    `--files-from=${list}`,
  ]);
  const diffId = await sha256File(tar);
  const tarBytes = (await Deno.stat(tar)).size;
  await run("pigz", ["-6", "-f", tar]);
  const file = `${tar}.gz`;
  const digest = await sha256File(file);
  const descriptor = { mediaType: OCI_LAYER_GZIP, digest, size: (await Deno.stat(file)).size };
  return { file, descriptor, diffId, tarBytes };
}

/**
 * The image of `spec`, from the cache when its file lists and workload are
 * unchanged, else built anew (a few seconds per 100 MB with pigz).
 *
 * @param log progress lines
 */
export async function buildImage(
  spec: ImageSpec,
  log: (line: string) => void,
): Promise<BuiltImage> {
  const base = await packageClosure([], { essential: true });
  const app = await packageClosure(spec.packages, { exclude: new Set(base.names) });
  const baseFiles = await packageFiles(base.names, { pycache: spec.pycache });
  const appFiles = await packageFiles(app.names, { pycache: spec.pycache });
  const key = await sha256Text(JSON.stringify([BUILD_VERSION, spec, baseFiles, appFiles]));
  const dir = `${OUT}${spec.name}`;
  try {
    const cached = JSON.parse(await Deno.readTextFile(`${dir}/image.json`));
    if (cached.key === key) {
      const image = cached.image as Omit<BuiltImage, "config" | "manifest">;
      return {
        ...image,
        config: await Deno.readFile(`${dir}/config.json`),
        manifest: await Deno.readFile(`${dir}/manifest.json`),
      };
    }
  } catch { /* not built yet */ }
  log(
    `${spec.name}: building from ${base.names.length} + ${app.names.length} packages ` +
      `(${baseFiles.length} + ${appFiles.length} paths)`,
  );
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const parts: [string[], (skel: string) => Promise<string[]>][] = [
    [baseFiles, writeBaseSkeleton],
    [appFiles, (skel) => writeAppSkeleton(skel, spec)],
  ];
  const layers = [];
  for (const [i, [files, skeleton]] of parts.entries()) {
    const skel = `${dir}/skel${i}`;
    await Deno.mkdir(skel);
    layers.push(await buildLayer(dir, i, skel, await skeleton(skel), files));
    await Deno.remove(skel, { recursive: true });
  }
  const config = new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Env: IMAGE_ENV, Cmd: spec.cmd, WorkingDir: "/app" },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created_by: `coldstart ${spec.name} layer ${i}` })),
  }));
  const manifestDoc: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: await digestOf(config), size: config.byteLength },
    layers: layers.map((l) => l.descriptor),
  };
  const manifest = new TextEncoder().encode(JSON.stringify(manifestDoc));
  const image = {
    name: spec.name,
    dir,
    layers,
    packages: [base.names, app.names],
    unpackedBytes: layers.reduce((n, l) => n + l.tarBytes, 0),
    gzipBytes: layers.reduce((n, l) => n + l.descriptor.size, 0),
  };
  await Deno.writeFile(`${dir}/config.json`, config);
  await Deno.writeFile(`${dir}/manifest.json`, manifest);
  await Deno.writeTextFile(`${dir}/image.json`, JSON.stringify({ key, image }));
  return { ...image, config, manifest };
}

/** Pushes `image` as `host/<name>:tag` over plain HTTP. */
export async function pushImage(image: BuiltImage, host: string, tag: string): Promise<string> {
  const repo = openRepository(`${host}/${image.name}`, { plain: true });
  try {
    for (const l of image.layers) {
      await pushBlob(repo, await Deno.readFile(l.file), { digest: l.descriptor.digest });
    }
    await pushBlob(repo, image.config);
    await pushManifest(repo, image.manifest, { tag });
  } finally {
    repo.close();
  }
  return `${host}/${image.name}:${tag}`;
}
