import type { ZfileAlgorithm } from "../../ffi/zfile.ts";
import type { Descriptor } from "../registry/mod.ts";
import type { BlobProgress } from "./apply_image.ts";
import type { ConvertedLayer, LayerDone } from "./convert_image.ts";
import { convertLayer } from "./convert_layer.ts";
import { type OpenedLayerTar, openLayerTar } from "./decompress.ts";
import { inContext } from "./error_context.ts";
import type { SourceImage } from "./image_source.ts";
import { type DedupTarget, reuseLayer } from "./layer_dedup.ts";
import type { ConversionStore } from "./conversion_store.ts";

/** What {@linkcode convertLayers} needs. */
export interface LayersJob {
  source: SourceImage;
  /** The temporary directory; layer i works in `work/000i`. */
  work: string;
  diffIds: string[];
  /** chainIDs of the layers, bottom first. */
  chain: string[];
  /** Dedup: layers converted before with the same settings are reused. */
  dedup?: { store: ConversionStore; target: DedupTarget; settings: string };
  virtualSize: number;
  algorithm: ZfileAlgorithm;
  blockSize?: number;
  timestamp: number;
  /** Layers fetched and decoded ahead of the one being applied (≥ 1). */
  concurrency: number;
  onLayer?: (done: LayerDone) => void;
  onProgress?: (layer: number, tarBytes: number, blob: BlobProgress) => void;
}

/** Layer blobs ready to store: their descriptors and files, bottom first. */
export interface ConvertedLayers {
  layers: ConvertedLayer[];
  files: string[];
}

/** A source layer on its way in: its local file, and its decoder once opened ahead. */
interface Incoming {
  file: Promise<string>;
  decoder?: Promise<OpenedLayerTar>;
}

/**
 * Converts the layers of `job.source` in order (spec §7.3): each is applied
 * on the ones below, committed, and packed into its blob on a worker thread
 * while the next one is applied. Up to `concurrency - 1` layers after the
 * current one are fetched in parallel and the next one's decoding starts
 * early; applying stays in order. Nothing is stored anywhere.
 *
 * @throws the error kind of the first failure, its message naming the layer
 */
export async function convertLayers(job: LayersJob): Promise<ConvertedLayers> {
  const descs = job.source.manifest.layers;
  const count = descs.length;
  const dirs = descs.map((_, i) => `${job.work}/${String(i).padStart(4, "0")}`);
  for (const dir of dirs) await Deno.mkdir(dir);
  const incoming: Incoming[] = [];
  const fetchAhead = (i: number) => {
    if (i >= count || incoming[i]) return;
    const file = job.source.layerFile(descs[i], dirs[i]);
    file.catch(() => {/* awaited when the layer's turn comes */});
    incoming[i] = { file };
  };
  const blobs: Promise<ConvertedLayer & { file: string }>[] = [];
  let reported = Promise.resolve();
  try {
    const lowers: string[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      const what = `layer ${i + 1}/${count} ${descs[i].digest}`;
      try {
        const reused = await reuse(job, i, `${dirs[i]}/overlaybd.commit`);
        if (reused) {
          lowers.push(reused.file);
          blobs.push(Promise.resolve(reused));
          reported = reported.then(() => report(job, i, reused, 0, start));
        } else {
          for (let k = i; k < i + job.concurrency; k++) fetchAhead(k);
          const decoder = incoming[i].decoder;
          if (job.concurrency > 1 && i + 1 < count) {
            const next = incoming[i + 1];
            next.decoder ??= next.file.then((path) => openLayerTar(path));
            next.decoder.catch(() => {/* awaited when the layer's turn comes */});
          }
          const done = await convertLayer(descs[i], dirs[i], {
            tar: await incoming[i].file,
            decoder: decoder && await decoder,
            lowers,
            diffId: job.diffIds[i],
            chainId: job.chain[i],
            parentChainId: job.chain[i - 1],
            virtualSize: job.virtualSize,
            algorithm: job.algorithm,
            blockSize: job.blockSize,
            timestamp: job.timestamp,
            what,
            onProgress: (n, blob) => job.onProgress?.(i, n, blob),
          });
          lowers.push(done.lower);
          blobs.push(done.blob.then((b) => ({ ...b, reused: false })));
          blobs[i].catch(() => {/* awaited below */});
          const tarBytes = done.tarBytes;
          reported = reported.then(() => blobs[i]).then((b) => report(job, i, b, tarBytes, start));
        }
        reported.catch(() => {/* awaited below */});
      } catch (err) {
        throw inContext(err, what);
      }
    }
    const layers: ConvertedLayer[] = [];
    for (const [i, blob] of blobs.entries()) {
      try {
        const { file: _file, ...layer } = await blob;
        layers.push(layer);
      } catch (err) {
        throw inContext(err, `layer ${i + 1}/${count} ${descs[i].digest}`);
      }
    }
    await reported;
    return { layers, files: (await Promise.all(blobs)).map((b) => b.file) };
  } finally {
    // Native threads may still read or write in the work directory.
    await Promise.allSettled(blobs);
    // Layers reused from the store leave holes in `incoming`.
    for (const x of incoming) x?.decoder?.then((d) => d.close(), () => {});
    await Promise.allSettled(incoming.map((x) => x?.file));
  }
}

/** The layer reused from the dedup store, fetched into `path`, or undefined. */
async function reuse(job: LayersJob, i: number, path: string) {
  if (!job.dedup) return undefined;
  const { store, target, settings } = job.dedup;
  const reused = await reuseLayer(store, target, job.chain[i], settings, path);
  return reused && { ...reused, reused: true, file: path };
}

/** Calls `onLayer` for layer `i` (converted, or reused when `tarBytes` is 0). */
function report(
  job: LayersJob,
  i: number,
  blob: ConvertedLayer,
  tarBytes: number,
  start: number,
): void {
  const layer: Descriptor = job.source.manifest.layers[i];
  job.onLayer?.({
    index: i,
    count: job.chain.length,
    source: layer.digest,
    blob: { digest: blob.digest, size: blob.size },
    reused: blob.reused,
    tarBytes,
    seconds: blob.reused ? 0 : (performance.now() - start) / 1000,
  });
}
