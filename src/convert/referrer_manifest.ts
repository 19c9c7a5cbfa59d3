import type { BuiltImage } from "../oci/mod.ts";
import {
  type Descriptor,
  digestOf,
  type ImageManifest,
  OVERLAYBD_NATIVE_ARTIFACT,
} from "../registry/mod.ts";

/**
 * The built image's manifest made a referrer of `subject` (the source
 * manifest), as `--referrer` does (spec §7.1): `artifactType` native
 * overlaybd, `subject` = the source's mediaType, digest and size.
 */
export async function asReferrer(image: BuiltImage, subject: Descriptor): Promise<BuiltImage> {
  const doc: ImageManifest = JSON.parse(new TextDecoder().decode(image.manifest));
  doc.artifactType = OVERLAYBD_NATIVE_ARTIFACT;
  doc.subject = { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
  const manifest = new TextEncoder().encode(JSON.stringify(doc));
  return {
    ...image,
    manifest,
    manifestDescriptor: {
      ...image.manifestDescriptor,
      digest: await digestOf(manifest),
      size: manifest.length,
    },
  };
}
