import {
  type Descriptor,
  digestOf,
  type ImageManifest,
  OCI_CONFIG,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
} from "../registry/mod.ts";
import { BLOB_DIGEST, BLOB_SIZE, VERSION } from "./labels.ts";

/** A built image: its config and manifest, as bytes and descriptors. */
export interface BuiltImage {
  config: Uint8Array<ArrayBuffer>;
  configDescriptor: Descriptor;
  manifest: Uint8Array<ArrayBuffer>;
  manifestDescriptor: Descriptor;
}

/** What each layer of {@linkcode buildOverlaybdImage} is. */
export interface LayerBlob {
  digest: string;
  size: number;
}

/**
 * The OCI config and manifest of an image made of overlaybd layer blobs
 * (spec §4.1, §7.1, §7.2): each layer an uncompressed-tar descriptor with the
 * blob-digest/blob-size/version annotations, `diff_ids` equal to the blob
 * digests. `baseConfig` (the source image's config) keeps its other fields.
 */
export async function buildOverlaybdImage(
  layers: LayerBlob[],
  baseConfig: Record<string, unknown> = { architecture: "amd64", os: "linux", config: {} },
): Promise<BuiltImage> {
  const encoder = new TextEncoder();
  const config = encoder.encode(JSON.stringify({
    ...baseConfig,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
  }));
  const configDescriptor = {
    mediaType: OCI_CONFIG,
    digest: await digestOf(config),
    size: config.length,
  };
  const manifestDoc: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDescriptor,
    layers: layers.map((l) => ({
      mediaType: OCI_LAYER_TAR,
      digest: l.digest,
      size: l.size,
      annotations: { [BLOB_DIGEST]: l.digest, [BLOB_SIZE]: String(l.size), [VERSION]: "0.1.0" },
    })),
  };
  const manifest = encoder.encode(JSON.stringify(manifestDoc));
  return {
    config,
    configDescriptor,
    manifest,
    manifestDescriptor: {
      mediaType: OCI_MANIFEST,
      digest: await digestOf(manifest),
      size: manifest.length,
    },
  };
}
