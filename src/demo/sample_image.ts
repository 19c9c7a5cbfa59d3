import { layoutBlobPath, REF_NAME } from "../convert/mod.ts";
import {
  type Descriptor,
  digestOf,
  type ImageIndex,
  type ImageManifest,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../registry/mod.ts";
import { archiveLayer, type LayerArchive } from "./layer_archive.ts";
import { bottomLayer, DATA_PATH, REMOVED_PATH, topLayer } from "./sample_layers.ts";

/** A JSON document of the image: its bytes and descriptor. */
export interface ImageDocument {
  bytes: Uint8Array<ArrayBuffer>;
  descriptor: Descriptor;
}

/** The sample image, written as an OCI layout. */
export interface SampleImage {
  /** The OCI layout directory. */
  layout: string;
  /** Its tag in the layout's index.json. */
  tag: string;
  manifest: ImageDocument;
  config: ImageDocument;
  /** Bottom layer first; each blob lives in the layout. */
  layers: LayerArchive[];
  /** Files a reader checks: absolute path in the image → `sha256:…` of the content. */
  files: Record<string, string>;
  /** A path of the bottom layer that the top layer deletes with a whiteout. */
  removed: string;
  /** A large file nobody reads: lazy loading must not fetch it. */
  dataFile: { path: string; size: number };
}

/** Options of {@linkcode buildSampleImage}. */
export interface SampleImageOptions {
  /** Size of the data file (default 32 MiB). */
  dataBytes?: number;
  /** Tag in the layout (default `latest`). */
  tag?: string;
}

/** Writes a JSON document as a blob of the layout. */
async function putDocument(layout: string, mediaType: string, doc: unknown) {
  const bytes = new TextEncoder().encode(JSON.stringify(doc));
  const digest = await digestOf(bytes);
  await Deno.writeFile(layoutBlobPath(layout, digest), bytes);
  return { bytes, descriptor: { mediaType, digest, size: bytes.length } };
}

/** The OCI architecture name of this machine (busybox is this machine's binary). */
function architecture(): string {
  return Deno.build.arch === "aarch64" ? "arm64" : "amd64";
}

/**
 * Builds a small runnable sample image in `dir/layout`, the way an image
 * builder would (from scratch trees in `dir`, removed again): layer 1
 * is Debian's static busybox with all its applets plus /etc/os-release
 * and /etc/issue ({@linkcode bottomLayer}); layer 2 adds sample files, a
 * 32 MiB incompressible data file, and deletes /etc/issue with a whiteout
 * ({@linkcode topLayer}). Both are gzip layers of an OCI manifest.
 *
 * @throws {FailedPreconditionError} when busybox-static, tar or gzip is missing
 */
export async function buildSampleImage(
  dir: string,
  options: SampleImageOptions = {},
): Promise<SampleImage> {
  const dataBytes = options.dataBytes ?? 32 << 20;
  const tag = options.tag ?? "latest";
  const layout = `${dir}/layout`;
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${layout}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  const files = {
    ...await bottomLayer(`${dir}/rootfs-1`),
    ...await topLayer(`${dir}/rootfs-2`, dataBytes),
  };
  const layers = await Promise.all(
    [1, 2].map((n) => archiveLayer(`${dir}/rootfs-${n}`, `${dir}/layer-${n}.tar`)),
  );
  for (const n of [1, 2]) await Deno.remove(`${dir}/rootfs-${n}`, { recursive: true });
  for (const layer of layers) {
    const blob = layoutBlobPath(layout, layer.descriptor.digest);
    await Deno.rename(layer.path, blob);
    layer.path = blob;
  }
  const config = await putDocument(layout, OCI_CONFIG, {
    created: "2023-11-14T22:13:20Z",
    architecture: architecture(),
    os: "linux",
    config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh"], WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
  });
  const manifest = await putDocument(
    layout,
    OCI_MANIFEST,
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: config.descriptor,
      layers: layers.map((l) => l.descriptor),
    } satisfies ImageManifest,
  );
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ ...manifest.descriptor, annotations: { [REF_NAME]: tag } }],
  };
  await Deno.writeTextFile(`${layout}/index.json`, JSON.stringify(index));
  return {
    layout,
    tag,
    manifest,
    config,
    layers,
    files,
    removed: REMOVED_PATH,
    dataFile: { path: DATA_PATH, size: dataBytes },
  };
}
