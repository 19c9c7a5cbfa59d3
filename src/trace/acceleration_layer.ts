import { type BuiltImage, labels } from "../oci/mod.ts";
import {
  type Descriptor,
  digestOf,
  type ImageManifest,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
} from "../registry/mod.ts";
import { AlreadyExistsError, InvalidArgumentError } from "../errors.ts";

/** An acceleration layer (spec §8.6): a tar holding the trace, and its descriptor. */
export interface AccelerationLayer {
  /** The layer blob: one tar entry `trace` and the 1024-byte end of archive. */
  blob: Uint8Array<ArrayBuffer>;
  /** sha256 of the blob; also its diff_id (the blob is not compressed). */
  digest: string;
  descriptor: Descriptor;
}

const BLOCK = 512;
const encoder = new TextEncoder();

/** `value` in octal, zero-padded to fill `width - 1` digits and a NUL. */
function octal(h: Uint8Array, at: number, width: number, value: number): void {
  h.set(encoder.encode(value.toString(8).padStart(width - 1, "0")), at);
}

/** A POSIX ustar header for a regular file `name` of `size` bytes, mode 0444, owner 0, time 0. */
function ustarHeader(name: string, size: number): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(BLOCK);
  h.set(encoder.encode(name), 0);
  octal(h, 100, 8, 0o444); // mode
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime: "no times"
  h[156] = 0x30; // typeflag '0': regular file
  h.set(encoder.encode("ustar\0" + "00"), 257);
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  // The checksum counts its own field as eight spaces; stored as six digits, NUL, space.
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  octal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

/**
 * Packs a trace file as an acceleration layer (spec §8.6): an uncompressed
 * tar with the single entry `trace` (mode 0444, zero times) and a 1024-byte
 * end of archive; OCI layer-tar media type; annotations version `0.1.0`,
 * blob digest and size, `acceleration-layer: yes`, and `blob-fs-type`
 * copied from `previousTop` (the image's top layer) when it has one.
 *
 * @example
 * ```ts ignore
 * const layer = await buildAccelerationLayer(trace, manifest.layers.at(-1)!);
 * await pushBlob(repo, layer.blob);
 * ```
 */
export async function buildAccelerationLayer(
  trace: Uint8Array,
  previousTop?: Descriptor,
): Promise<AccelerationLayer> {
  const padded = Math.ceil(trace.byteLength / BLOCK) * BLOCK;
  const blob = new Uint8Array(BLOCK + padded + 2 * BLOCK);
  blob.set(ustarHeader("trace", trace.byteLength), 0);
  blob.set(trace, BLOCK);
  const digest = await digestOf(blob);
  const annotations: Record<string, string> = {
    [labels.VERSION]: "0.1.0",
    [labels.BLOB_DIGEST]: digest,
    [labels.BLOB_SIZE]: String(blob.byteLength),
    [labels.ACCELERATION_LAYER]: "yes",
  };
  const fsType = previousTop?.annotations?.[labels.BLOB_FS_TYPE];
  if (fsType !== undefined) annotations[labels.BLOB_FS_TYPE] = fsType;
  return {
    blob,
    digest,
    descriptor: { mediaType: OCI_LAYER_TAR, digest, size: blob.byteLength, annotations },
  };
}

/** Whether `manifest` ends in an acceleration layer already. */
export function hasAccelerationLayer(manifest: ImageManifest): boolean {
  return manifest.layers.some((l) => l.annotations?.[labels.ACCELERATION_LAYER] === "yes");
}

/** Options of {@linkcode appendAccelerationLayer}. */
export interface AppendOptions {
  /** RFC 3339 time for the history entry; omitted when absent (reproducible output). */
  created?: string;
}

/**
 * The image with `layer` appended as its top layer (spec §8.6): the
 * config's `rootfs.diff_ids` gains the layer digest and a history entry
 * "Acceleration Layer" is put first; the manifest gains the layer
 * descriptor and points at the new config (same media types as before).
 *
 * @param config the image's current config JSON
 * @throws {AlreadyExistsError} when the image has an acceleration layer already
 * @throws {InvalidArgumentError} when the config has no `rootfs.diff_ids`
 */
export async function appendAccelerationLayer(
  manifest: ImageManifest,
  config: Record<string, unknown>,
  layer: AccelerationLayer,
  options: AppendOptions = {},
): Promise<BuiltImage> {
  if (hasAccelerationLayer(manifest)) {
    throw new AlreadyExistsError(
      `image ${manifest.config.digest} already has an acceleration layer; record from its base image`,
    );
  }
  const rootfs = config.rootfs as { diff_ids?: unknown } | undefined;
  if (!rootfs || !Array.isArray(rootfs.diff_ids)) {
    throw new InvalidArgumentError(`config ${manifest.config.digest} has no rootfs.diff_ids`);
  }
  const history = Array.isArray(config.history) ? config.history : [];
  const entry = options.created
    ? { created: options.created, created_by: "Acceleration Layer" }
    : { created_by: "Acceleration Layer" };
  const configBytes = encoder.encode(JSON.stringify({
    ...config,
    rootfs: { ...rootfs, diff_ids: [...rootfs.diff_ids, layer.digest] },
    history: [entry, ...history],
  }));
  const configDescriptor: Descriptor = {
    mediaType: manifest.config.mediaType,
    digest: await digestOf(configBytes),
    size: configBytes.byteLength,
  };
  const manifestBytes = encoder.encode(JSON.stringify({
    ...manifest,
    config: configDescriptor,
    layers: [...manifest.layers, layer.descriptor],
  }));
  return {
    config: configBytes,
    configDescriptor,
    manifest: manifestBytes,
    manifestDescriptor: {
      mediaType: manifest.mediaType ?? OCI_MANIFEST, // OCI manifests may leave it out
      digest: await digestOf(manifestBytes),
      size: manifestBytes.byteLength,
    },
  };
}
