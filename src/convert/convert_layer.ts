import { commitScratch, packBlob } from "../../ffi/blob_pack.ts";
import type { ZfileAlgorithm } from "../../ffi/zfile.ts";
import type { DeviceConfig } from "../config/mod.ts";
import { createLayer } from "../layer/mod.ts";
import type { LayerBlob } from "../oci/mod.ts";
import type { Descriptor } from "../registry/mod.ts";
import { applyImage, type BlobProgress } from "./apply_image.ts";
import type { OpenedLayerTar } from "./decompress.ts";
import { layerUuid } from "./layer_uuid.ts";
import { openScratchImage } from "./open_image.ts";

/** What {@linkcode convertLayer} needs besides the layer. */
export interface LayerJob {
  /** The local file of the layer blob. */
  tar: string;
  /** Its decoder, when it was opened ahead. */
  decoder?: OpenedLayerTar;
  /** Committed layer files of the layers below, bottom first. */
  lowers: string[];
  /** The config's diff_id of this layer, checked against its uncompressed tar. */
  diffId: string;
  /** chainIDs of this layer and of the one below (undefined for the first). */
  chainId: string;
  parentChainId?: string;
  /** Virtual size in bytes, used for the first layer (mkfs). */
  virtualSize: number;
  algorithm: ZfileAlgorithm;
  blockSize?: number;
  timestamp: number;
  what: string;
  onProgress?: (tarBytes: number, blob: BlobProgress) => void;
}

/**
 * The time recorded in filesystem metadata: `SOURCE_DATE_EPOCH` when set,
 * else the source image's creation time, else 1 — never the clock, so that
 * converting the same image twice gives the same layer digests.
 */
export function conversionTime(config: Record<string, unknown>): number {
  const env = Deno.env.get("SOURCE_DATE_EPOCH");
  if (env && /^\d+$/.test(env)) return Number(env);
  const created = typeof config.created === "string" ? Date.parse(config.created) : NaN;
  return Number.isFinite(created) && created >= 1000 ? Math.floor(created / 1000) : 1;
}

/** What {@linkcode convertLayer} made. */
export interface ConvertedLayerFiles {
  /** The committed layer, uncompressed: the lower of the layers above. */
  lower: string;
  /** Uncompressed tar bytes applied. */
  tarBytes: number;
  /**
   * The tar-wrapped ZFile blob `dir/overlaybd.commit`, packed from `lower`
   * on a worker thread while the caller goes on; never rejects unhandled.
   */
  blob: Promise<LayerBlob & { file: string }>;
}

/**
 * Converts one source layer in `dir` (spec §7.3 steps 1–5): a sparse
 * writable layer stacked on the lowers (the first formatted as ext4), the
 * tar applied (the blob's digest and diff_id checked on the way), committed
 * with the chainID-derived uuids — uncompressed first, so the next layer
 * can stack on it at once, then packed as a tar-wrapped ZFile in the
 * background.
 */
export async function convertLayer(
  layer: Descriptor,
  dir: string,
  job: LayerJob,
): Promise<ConvertedLayerFiles> {
  const first = job.lowers.length === 0;
  const upper = { data: `${dir}/writable_data`, index: `${dir}/writable_index` };
  createLayer(upper.data, upper.index, { virtualSize: first ? job.virtualSize : 0, sparse: true });
  const config: DeviceConfig = {
    repoBlobUrl: "",
    lowers: job.lowers.map((file) => ({ file })),
    upper,
    resultFile: "",
  };
  const lower = `${dir}/overlaybd.lsmt`;
  const { image, upper: writable } = openScratchImage(config, job.what);
  let tarBytes: number;
  try {
    const stats = await applyImage(image, job.tar, {
      decoder: job.decoder,
      mkfs: first,
      timestamp: job.timestamp,
      onProgress: job.onProgress,
      expect: { digest: layer.digest, diffId: job.diffId },
    });
    tarBytes = stats.tarBytes;
    // From the open layer: reopening a sparse layer whose data is not on disk yet is slow.
    await commitScratch(writable, lower, {
      uuid: layerUuid(job.chainId),
      parentUuid: job.parentChainId ? layerUuid(job.parentChainId) : undefined,
    });
  } finally {
    image.close();
  }
  await Deno.remove(upper.data);
  await Deno.remove(upper.index);
  const file = `${dir}/overlaybd.commit`;
  const blob = packBlob(lower, file, job.algorithm, job.blockSize ?? 4096)
    .then((b) => ({ ...b, file }));
  blob.catch(() => {/* the caller awaits it */});
  return { lower, tarBytes, blob };
}
