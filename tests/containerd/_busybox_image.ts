/**
 * Test helper: a tiny runnable image built offline from Debian's
 * `busybox-static` (one gzip layer: /bin/busybox, applet symlinks,
 * /etc/os-release with {@linkcode OS_RELEASE_LINE}), written as an OCI
 * layout and pushed to a real registry.
 *
 * @module
 */

import { layoutBlobPath, REF_NAME } from "../../src/convert/mod.ts";
import {
  digestOf,
  type ImageIndex,
  type ImageManifest,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  openRepository,
} from "../../src/registry/mod.ts";
import { randomBytes } from "../_helpers.ts";
import { pushLayout } from "../registry/_layout.ts";

/** The line of /etc/os-release that tells this image apart. */
export const OS_RELEASE_LINE = "OVERLAYBD_TEST_IMAGE=busybox-static";

/** Where Debian's `busybox-static` puts the binary. */
export const BUSYBOX = "/bin/busybox";

const APPLETS = ["sh", "cat", "echo", "ls", "sleep"];

/** Bytes of `tar` of `names` in `dir`, owned by root, sorted, mtime 0. */
async function tarOf(dir: string, names: string[]): Promise<Uint8Array<ArrayBuffer>> {
  const out = await new Deno.Command("tar", {
    args: [
      "--create",
      "--numeric-owner",
      "--owner=0",
      "--group=0",
      "--sort=name",
      "--mtime=@0",
      "--format=gnu",
      "--directory",
      dir,
      ...names,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`tar: ${new TextDecoder().decode(out.stderr)}`);
  return new Uint8Array(out.stdout);
}

async function gzip(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Writes `data` as a blob of the layout and returns its descriptor. */
async function putBlob(layout: string, mediaType: string, data: Uint8Array<ArrayBuffer>) {
  const digest = await digestOf(data);
  await Deno.writeFile(layoutBlobPath(layout, digest), data);
  return { mediaType, digest, size: data.byteLength };
}

/** Options of {@linkcode buildBusyboxLayout}. */
export interface BusyboxOptions {
  /**
   * Size of `/data/ballast`, incompressible bytes no test command reads: an
   * image mostly made of data a lazy pull must not fetch.
   */
  ballastBytes?: number;
}

/**
 * Builds the busybox image as an OCI layout in `dir/layout` (scratch files in
 * `dir/rootfs`), tagged `tag`.
 *
 * @returns the layout path and the manifest digest
 */
export async function buildBusyboxLayout(
  dir: string,
  tag = "latest",
  options: BusyboxOptions = {},
): Promise<{ layout: string; manifest: string }> {
  const rootfs = `${dir}/rootfs`;
  for (const d of ["bin", "etc", "dev", "proc", "sys", "tmp"]) {
    await Deno.mkdir(`${rootfs}/${d}`, { recursive: true });
  }
  await Deno.copyFile(BUSYBOX, `${rootfs}/bin/busybox`);
  await Deno.chmod(`${rootfs}/bin/busybox`, 0o755);
  for (const applet of APPLETS) await Deno.symlink("busybox", `${rootfs}/bin/${applet}`);
  await Deno.writeTextFile(
    `${rootfs}/etc/os-release`,
    `NAME="busybox test image"\nID=busybox\n${OS_RELEASE_LINE}\n`,
  );
  const top = ["bin", "dev", "etc", "proc", "sys", "tmp"];
  if (options.ballastBytes) {
    await Deno.mkdir(`${rootfs}/data`);
    await Deno.writeFile(`${rootfs}/data/ballast`, randomBytes(options.ballastBytes, 7));
    top.push("data");
  }
  const tar = await tarOf(rootfs, top);

  const layout = `${dir}/layout`;
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${layout}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  const layer = await putBlob(layout, OCI_LAYER_GZIP, await gzip(tar));
  const config = {
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh"], WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [await digestOf(tar)] },
  };
  const configDesc = await putBlob(
    layout,
    OCI_CONFIG,
    new TextEncoder().encode(JSON.stringify(config)),
  );
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDesc,
    layers: [layer],
  };
  const manifestDesc = await putBlob(
    layout,
    OCI_MANIFEST,
    new TextEncoder().encode(JSON.stringify(manifest)),
  );
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ ...manifestDesc, annotations: { [REF_NAME]: tag } }],
  };
  await Deno.writeTextFile(`${layout}/index.json`, JSON.stringify(index));
  return { layout, manifest: manifestDesc.digest };
}

/**
 * Builds the busybox image in `dir` and pushes it as `host/repo:tag` (plain
 * HTTP) to a registry such as `startRegistry()` gives.
 *
 * @returns the image reference and its manifest digest
 */
export async function pushBusyboxImage(
  dir: string,
  host: string,
  repo = "busybox",
  tag = "latest",
  options: BusyboxOptions = {},
): Promise<{ ref: string; manifest: string }> {
  const { layout, manifest } = await buildBusyboxLayout(dir, tag, options);
  const repository = openRepository(`${host}/${repo}`, { plain: true });
  try {
    await pushLayout(repository, layout);
  } finally {
    repository.close();
  }
  return { ref: `${host}/${repo}:${tag}`, manifest };
}
