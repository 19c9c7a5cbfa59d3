import type { ZfileAlgorithm } from "../../ffi/zfile.ts";
import type { DeviceConfig } from "../config/mod.ts";
import { CorruptDataError, OverlaybdError } from "../errors.ts";
import { commitLayer, createLayer } from "../layer/mod.ts";
import { buildOverlaybdImage, type LayerBlob } from "../oci/mod.ts";
import { digestOf } from "../registry/mod.ts";
import { applyLayer } from "./apply_layer.ts";
import { openImageSink } from "./image_sink.ts";
import { type EndpointOptions, openSourceImage, type SourceOptions } from "./image_source.ts";
import { chainIds, layerUuid } from "./layer_chain.ts";
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
  /** Make the manifest a referrer of the source manifest (spec §7.1). */
  referrer?: boolean;
  /** Parent of the temporary directory (default the system's). */
  workdir?: string;
  /** Called after each layer is converted. */
  onLayer?: (done: LayerDone) => void;
  /** Called with the uncompressed tar bytes of the current layer so far. */
  onProgress?: (layer: number, tarBytes: number) => void;
}

/** What converting one layer did. */
export interface LayerDone {
  /** 0-based position and the number of layers. */
  index: number;
  count: number;
  source: string;
  blob: LayerBlob;
  tarBytes: number;
  seconds: number;
}

/** What {@linkcode convertImage} made. */
export interface ConvertResult {
  manifestDigest: string;
  layers: LayerBlob[];
  /** Blobs actually written (not there yet). */
  blobsWritten: number;
}

const GIB = 2 ** 30;

/** The same kind of error with `context` put in front. */
function inContext(err: unknown, context: string): unknown {
  if (!(err instanceof OverlaybdError)) return err;
  const Kind = err.constructor as new (message: string, options?: ErrorOptions) => OverlaybdError;
  return new Kind(`${context}: ${err.message}`, { cause: err });
}

/**
 * The time recorded in filesystem metadata: `SOURCE_DATE_EPOCH` when set,
 * else the source image's creation time, else 1 — never the clock, so that
 * converting the same image twice gives the same layer digests.
 */
function conversionTime(config: Record<string, unknown>): number {
  const env = Deno.env.get("SOURCE_DATE_EPOCH");
  if (env && /^\d+$/.test(env)) return Number(env);
  const created = typeof config.created === "string" ? Date.parse(config.created) : NaN;
  return Number.isFinite(created) && created >= 1000 ? Math.floor(created / 1000) : 1;
}

/**
 * Converts the image `src` into an overlaybd image at `dst` (spec §7.3):
 * each layer is applied onto a new sparse writable layer stacked on the
 * layers converted so far (the first formatted as ext4), committed as a
 * tar-wrapped ZFile whose uuid comes from the layer's chainID, then the
 * blobs, the config (source config with new `diff_ids`) and last the
 * manifest (OCI media types) go to `dst`. The work happens in a temporary
 * directory, removed at the end, failure or not; nothing is stored at `dst`
 * when a layer fails.
 *
 * @throws the error kind of the first failure, its message naming the layer
 */
export async function convertImage(
  src: string,
  dst: string,
  options: ConvertOptions = {},
): Promise<ConvertResult> {
  const source = await openSourceImage(src, options);
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
    const timestamp = conversionTime(source.config);
    const files: string[] = [];
    const layers: LayerBlob[] = [];
    for (const [i, layer] of source.manifest.layers.entries()) {
      const start = performance.now();
      const what = `layer ${i + 1}/${count} ${layer.digest}`;
      try {
        const dir = `${work}/${String(i).padStart(4, "0")}`;
        await Deno.mkdir(dir);
        const tar = await source.layerFile(layer, dir);
        const upper = { data: `${dir}/writable_data`, index: `${dir}/writable_index` };
        createLayer(upper.data, upper.index, {
          virtualSize: i === 0 ? options.virtualSize ?? 64 * GIB : 0,
          sparse: true,
        });
        const config: DeviceConfig = {
          repoBlobUrl: "",
          lowers: files.map((file) => ({ file })),
          upper,
          resultFile: "",
        };
        const stats = await applyLayer(tar, config, what, {
          mkfs: i === 0,
          timestamp,
          onProgress: (n) => options.onProgress?.(i, n),
        });
        const out = `${dir}/overlaybd.commit`;
        const size = commitLayer(upper.data, upper.index, out, {
          zfile: { algorithm: options.algorithm ?? "lz4", blockSize: options.blockSize },
          tar: true,
          uuid: layerUuid(chain[i]),
          parentUuid: i > 0 ? layerUuid(chain[i - 1]) : undefined,
        });
        await Deno.remove(upper.data);
        await Deno.remove(upper.index);
        const blob = { digest: await digestOf(await Deno.readFile(out)), size };
        files.push(out);
        layers.push(blob);
        options.onLayer?.({
          index: i,
          count,
          source: layer.digest,
          blob,
          tarBytes: stats.tarBytes,
          seconds: (performance.now() - start) / 1000,
        });
      } catch (err) {
        throw inContext(err, what);
      }
    }

    const { rootfs: _rootfs, ...baseConfig } = source.config;
    const built = await buildOverlaybdImage(layers, baseConfig);
    const image = options.referrer ? await asReferrer(built, source.descriptor) : built;
    const sink = openImageSink(dst, options.destination ?? options);
    try {
      let blobsWritten = 0;
      for (const [i, file] of files.entries()) {
        if (await sink.putBlob(await Deno.readFile(file), layers[i].digest)) blobsWritten++;
      }
      if (await sink.putBlob(image.config, image.configDescriptor.digest)) blobsWritten++;
      await sink.putManifest(image.manifest, image.manifestDescriptor);
      return { manifestDigest: image.manifestDescriptor.digest, layers, blobsWritten };
    } finally {
      sink.close();
    }
  } finally {
    source.close();
    await Deno.remove(work, { recursive: true });
  }
}
