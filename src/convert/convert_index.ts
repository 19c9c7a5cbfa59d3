import { NotFoundError } from "../errors.ts";
import type { Descriptor, ImageIndex, Platform } from "../registry/mod.ts";
import { digestOf, formatPlatform } from "../registry/mod.ts";
import type { ConvertOptions, ConvertResult } from "./convert_image.ts";
import { manifestKey, outputSettings, outputSettingsKey } from "./dedup_settings.ts";
import { inContext } from "./error_context.ts";
import { indexMediaType } from "./media_types.ts";
import { openImageSink } from "./image_sink.ts";
import type { SourceIndex } from "./source_index.ts";

/** Converts the image of one platform, its manifest stored by digest only. */
export type ConvertOne = (
  src: string,
  dst: string,
  options: ConvertOptions,
) => Promise<ConvertResult>;

/**
 * Converts every platform of the index `source` (attestations left out),
 * each manifest stored by digest, then stores an index of the converted
 * manifests (the source index's media type, OCI's with `oci` or
 * `referrer`), platform descriptors kept, under `dst`'s tag — last, so that
 * a failed platform stores no index.
 *
 * @throws {NotFoundError} when the index has no platform images
 * @throws the error of the first platform that fails, its message naming the platform
 */
export async function convertIndex(
  src: string,
  dst: string,
  source: SourceIndex,
  options: ConvertOptions,
  convertOne: ConvertOne,
): Promise<ConvertResult> {
  if (source.images.length === 0) {
    throw new NotFoundError(`index ${src} (${source.descriptor.digest}) has no platform images`);
  }
  const platforms: { platform: Platform; result: ConvertResult }[] = [];
  const entries: Descriptor[] = [];
  for (const entry of source.images) {
    const platform = entry.platform!;
    const name = formatPlatform(platform);
    let result: ConvertResult;
    try {
      result = await convertOne(src, dst, {
        ...options,
        platform,
        untagged: true,
        onLayer: (done) => options.onLayer?.({ ...done, platform: name }),
      });
    } catch (err) {
      throw inContext(err, `platform ${name}`);
    }
    platforms.push({ platform, result });
    entries.push({
      mediaType: result.manifest.mediaType,
      digest: result.manifest.digest,
      size: result.manifest.size,
      platform,
    });
  }
  const mediaType = indexMediaType(source.descriptor.mediaType, options.oci || options.referrer);
  const index: ImageIndex = { schemaVersion: 2, mediaType, manifests: entries };
  const bytes = new TextEncoder().encode(JSON.stringify(index));
  const descriptor = { mediaType, digest: await digestOf(bytes), size: bytes.length };
  const sink = openImageSink(dst, options.destination ?? options);
  try {
    await sink.putManifest(bytes, descriptor);
    if (options.store && sink.dedup) {
      const key = manifestKey(mediaType, outputSettingsKey(outputSettings(options)));
      await options.store.putManifest(sink.dedup.dst, source.descriptor.digest, key, descriptor);
    }
  } finally {
    sink.close();
  }
  return {
    manifestDigest: descriptor.digest,
    manifest: descriptor,
    layers: platforms.flatMap((p) => p.result.layers),
    blobsWritten: platforms.reduce((n, p) => n + p.result.blobsWritten, 0),
    platforms,
  };
}
