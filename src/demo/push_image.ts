import { openRepository, parseReference, pushBlob, pushManifest } from "../registry/mod.ts";
import type { SampleImage } from "./sample_image.ts";

/**
 * Pushes the sample image (layers and config from its OCI layout, then the
 * manifest) to `ref` (`HOST/REPO:TAG`), over plain HTTP.
 *
 * @returns the bytes pushed
 */
export async function pushSampleImage(image: SampleImage, ref: string): Promise<number> {
  const reference = parseReference(ref);
  const repo = openRepository(reference, { plain: true });
  let bytes = 0;
  try {
    for (const layer of image.layers) {
      const data = await Deno.readFile(layer.path);
      await pushBlob(repo, data, { digest: layer.descriptor.digest });
      bytes += data.length;
    }
    await pushBlob(repo, image.config.bytes, { digest: image.config.descriptor.digest });
    await pushManifest(repo, image.manifest.bytes, {
      mediaType: image.manifest.descriptor.mediaType,
      tag: reference.tag,
    });
    return bytes + image.config.bytes.length + image.manifest.bytes.length;
  } finally {
    repo.close();
  }
}
