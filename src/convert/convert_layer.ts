import type { ZfileAlgorithm } from "../../ffi/zfile.ts";
import type { DeviceConfig } from "../config/mod.ts";
import { commitLayer, createLayer } from "../layer/mod.ts";
import type { LayerBlob } from "../oci/mod.ts";
import { type Descriptor, digestOf } from "../registry/mod.ts";
import { applyLayer } from "./apply_layer.ts";
import type { SourceImage } from "./image_source.ts";
import { layerUuid } from "./layer_uuid.ts";

/** What {@linkcode convertLayer} needs besides the layer. */
export interface LayerJob {
  source: SourceImage;
  /** Committed layer files of the layers below, bottom first. */
  lowers: string[];
  /** chainIDs of this layer and of the one below (undefined for the first). */
  chainId: string;
  parentChainId?: string;
  /** Virtual size in bytes, used for the first layer (mkfs). */
  virtualSize: number;
  algorithm: ZfileAlgorithm;
  blockSize?: number;
  timestamp: number;
  what: string;
  onProgress?: (tarBytes: number) => void;
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

/**
 * Converts one source layer in `dir` (spec §7.3 steps 1–5): a sparse
 * writable layer stacked on the lowers (the first formatted as ext4), the
 * tar applied, committed as a tar-wrapped ZFile `dir/overlaybd.commit` with
 * the chainID-derived uuids.
 */
export async function convertLayer(
  layer: Descriptor,
  dir: string,
  job: LayerJob,
): Promise<{ file: string; blob: LayerBlob; tarBytes: number }> {
  const first = job.lowers.length === 0;
  const tar = await job.source.layerFile(layer, dir);
  const upper = { data: `${dir}/writable_data`, index: `${dir}/writable_index` };
  createLayer(upper.data, upper.index, { virtualSize: first ? job.virtualSize : 0, sparse: true });
  const config: DeviceConfig = {
    repoBlobUrl: "",
    lowers: job.lowers.map((file) => ({ file })),
    upper,
    resultFile: "",
  };
  const stats = await applyLayer(tar, config, job.what, {
    mkfs: first,
    timestamp: job.timestamp,
    onProgress: job.onProgress,
  });
  const file = `${dir}/overlaybd.commit`;
  const size = commitLayer(upper.data, upper.index, file, {
    zfile: { algorithm: job.algorithm, blockSize: job.blockSize },
    tar: true,
    uuid: layerUuid(job.chainId),
    parentUuid: job.parentChainId ? layerUuid(job.parentChainId) : undefined,
  });
  await Deno.remove(upper.data);
  await Deno.remove(upper.index);
  return {
    file,
    blob: { digest: await digestOf(await Deno.readFile(file)), size },
    tarBytes: stats.tarBytes,
  };
}
