import type { BuiltImage } from "../oci/mod.ts";
import {
  digestOf,
  DOCKER_CONFIG,
  DOCKER_LAYER_TAR,
  DOCKER_MANIFEST,
  type ImageManifest,
  OCI_INDEX,
} from "../registry/mod.ts";

/**
 * The built image (OCI media types) with Docker's media types instead —
 * manifest, config and layers, annotations kept — as upstream's convertor
 * writes without `--oci` (spec §7.1). Docker manifests have no `subject`
 * or `artifactType`: `--referrer` forces OCI types.
 */
export async function withDockerTypes(image: BuiltImage): Promise<BuiltImage> {
  const doc: ImageManifest = JSON.parse(new TextDecoder().decode(image.manifest));
  doc.mediaType = DOCKER_MANIFEST;
  doc.config = { ...doc.config, mediaType: DOCKER_CONFIG };
  doc.layers = doc.layers.map((l) => ({ ...l, mediaType: DOCKER_LAYER_TAR }));
  const manifest = new TextEncoder().encode(JSON.stringify(doc));
  return {
    ...image,
    configDescriptor: { ...image.configDescriptor, mediaType: DOCKER_CONFIG },
    manifest,
    manifestDescriptor: {
      mediaType: DOCKER_MANIFEST,
      digest: await digestOf(manifest),
      size: manifest.length,
    },
  };
}

/**
 * Media type of the converted index: OCI's with `--oci`, else the source
 * index's own (a Docker manifest list stays one), as spec §7.1 says.
 */
export function indexMediaType(sourceType: string, oci: boolean | undefined): string {
  return oci ? OCI_INDEX : sourceType;
}
