import type { ZfileAlgorithm } from "../../ffi/zfile.ts";
import { CorruptDataError } from "../errors.ts";
import { buildOverlaybdImage, chainIds, type LayerBlob } from "../oci/mod.ts";
import { type Descriptor, DOCKER_MANIFEST, OCI_MANIFEST, type Platform } from "../registry/mod.ts";
import type { BlobProgress } from "./apply_image.ts";
import type { ConversionStore } from "./conversion_store.ts";
import { convertIndex } from "./convert_index.ts";
import { conversionTime } from "./convert_layer.ts";
import { convertLayers } from "./convert_layers.ts";
import { layerKey, manifestKey, outputSettings, outputSettingsKey } from "./dedup_settings.ts";
import { openImageSink, storeImage } from "./image_sink.ts";
import { type EndpointOptions, openSourceImage, type SourceOptions } from "./image_source.ts";
import { withDockerTypes } from "./media_types.ts";
import { reuseManifest } from "./manifest_dedup.ts";
import { readSourceIndex } from "./source_index.ts";
import { asReferrer } from "./referrer_manifest.ts";

/** Options of {@linkcode convertImage}. */
export interface ConvertOptions extends SourceOptions {
  /** Options for the destination registry (default: those of the source). */
  destination?: EndpointOptions;
  /** Virtual size of the image in bytes (default 64 GiB). */
  virtualSize?: number;
  algorithm?: ZfileAlgorithm;
  /** ZFile block size in bytes (default 4096). */
  blockSize?: number;
  /** Make the manifest a referrer of the source manifest (spec §7.1); implies `oci`. */
  referrer?: boolean;
  /**
   * OCI media types for manifest, config, layers and index; default Docker's,
   * as upstream (spec §7.1).
   */
  oci?: boolean;
  /** Layers fetched and decoded ahead of the one being applied (default 2). */
  concurrency?: number;
  /** Parent of the temporary directory (default the system's). */
  workdir?: string;
  /**
   * Dedup tables (spec §7.6): layers converted before for the destination
   * registry are reused, new ones recorded. Not used for layout destinations.
   */
  store?: ConversionStore;
  /** Store the manifest by digest only, not under the destination's tag (a platform of an index). */
  untagged?: boolean;
  /** Called after each layer is converted. */
  onLayer?: (done: LayerDone) => void;
  /**
   * Called with the uncompressed tar bytes of the current layer applied so
   * far and how much of its blob was decoded.
   */
  onProgress?: (layer: number, tarBytes: number, blob: BlobProgress) => void;
}

/** What converting one layer did. */
export interface LayerDone {
  /** The platform (`linux/arm64`) when converting an index. */
  platform?: string;
  /** 0-based position and the number of layers. */
  index: number;
  count: number;
  source: string;
  blob: LayerBlob;
  /** Taken from the dedup store instead of being converted (`tarBytes` 0). */
  reused: boolean;
  tarBytes: number;
  seconds: number;
}

/** A layer of the converted image. */
export interface ConvertedLayer extends LayerBlob {
  /** Taken from the dedup store, not converted again. */
  reused: boolean;
  /** Repository of the same registry the blob is mounted from. */
  mountFrom?: string;
}

/** What {@linkcode convertImage} made. */
export interface ConvertResult {
  /** Digest of the manifest, or of the index for a multi-platform source. */
  manifestDigest: string;
  manifest: Descriptor;
  layers: ConvertedLayer[];
  /** Blobs actually written (not there yet). */
  blobsWritten: number;
  /** Each platform's conversion, for an index. */
  platforms?: { platform: Platform; result: ConvertResult }[];
}

/**
 * Converts the image `src` into an overlaybd image at `dst` (spec §7.3):
 * each layer is applied onto a new sparse writable layer stacked on the
 * layers converted so far (the first formatted as ext4), its digest and
 * diff_id checked, committed with a uuid from the layer's chainID and
 * packed as a tar-wrapped ZFile ({@linkcode convertLayers}); then the blobs,
 * the config (source config with new `diff_ids`) and last the manifest
 * (Docker media types, or OCI's with `oci` or `referrer`) go to `dst`.
 * With a `store`, a layer whose chainID was converted before with the same
 * output settings for the destination registry is reused (fetched as a
 * lower, cross-repo mounted when it lives in another repository) instead
 * of rebuilt, and every layer and the manifest are recorded once the
 * manifest is stored; a manifest converted before from the same source
 * with the same settings into the same repository is only tagged again. An
 * index without `platform` is converted platform by platform
 * ({@linkcode convertIndex}). The work happens in a temporary directory,
 * removed at the end, failure or not; nothing is stored at `dst` when a
 * layer fails.
 *
 * @throws the error kind of the first failure, its message naming the layer
 */
export async function convertImage(
  src: string,
  dst: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  if (!options.platform) {
    const index = await readSourceIndex(src, options);
    if (index) return await convertIndex(src, dst, index, options, convertImage);
  }
  const source = await openSourceImage(src, options);
  const sink = openImageSink(dst, options.destination ?? options);
  const work = await Deno.makeTempDir({ dir: options.workdir, prefix: "obdconv-" });
  try {
    const diffIds = (source.config.rootfs as { diff_ids?: string[] } | undefined)?.diff_ids ?? [];
    const count = source.manifest.layers.length;
    if (diffIds.length !== count) {
      throw new CorruptDataError(
        `${src}: config has ${diffIds.length} diff_ids for ${count} layers`,
      );
    }
    const chain = await chainIds(diffIds);
    const oci = options.oci === true || options.referrer === true;
    const output = outputSettings(options);
    const settings = outputSettingsKey(output);
    const store = sink.dedup ? options.store : undefined;
    const kind = manifestKey(
      (oci ? OCI_MANIFEST : DOCKER_MANIFEST) + (options.referrer ? "+referrer" : ""),
      settings,
    );
    const prior = store && await reuseManifest(store, sink.dedup!, source.descriptor.digest, kind);
    if (prior) {
      await sink.putManifest(prior.bytes, prior.descriptor, options.untagged);
      for (const [i, { digest, size }] of prior.layers.entries()) {
        options.onLayer?.({
          index: i,
          count,
          source: source.manifest.layers[i]?.digest ?? "",
          blob: { digest, size },
          reused: true,
          tarBytes: 0,
          seconds: 0,
        });
      }
      const manifest = prior.descriptor;
      return { manifestDigest: manifest.digest, manifest, layers: prior.layers, blobsWritten: 0 };
    }
    const { layers, files } = await convertLayers({
      source,
      work,
      diffIds,
      chain,
      dedup: store && { store, target: sink.dedup!, settings },
      ...output,
      timestamp: conversionTime(source.config),
      concurrency: Math.max(1, options.concurrency ?? 2),
      onLayer: options.onLayer,
      onProgress: options.onProgress,
    });

    const { rootfs: _rootfs, ...baseConfig } = source.config;
    const built = await buildOverlaybdImage(layers, baseConfig);
    const typed = oci ? built : await withDockerTypes(built);
    const image = options.referrer ? await asReferrer(typed, source.descriptor) : typed;
    const blobsWritten = await storeImage(sink, files, layers, image, options.untagged);
    if (store) {
      const dst = sink.dedup!.dst;
      for (const [i, layer] of layers.entries()) {
        await store.putLayer(dst, layerKey(chain[i], settings), layer);
      }
      await store.putManifest(dst, source.descriptor.digest, kind, image.manifestDescriptor);
    }
    const manifest = image.manifestDescriptor;
    return { manifestDigest: manifest.digest, manifest, layers, blobsWritten };
  } finally {
    sink.close();
    source.close();
    await Deno.remove(work, { recursive: true });
  }
}
