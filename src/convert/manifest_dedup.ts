import type { ImageManifest } from "../registry/mod.ts";
import type { ConversionStore } from "./conversion_store.ts";
import type { ConvertedLayer } from "./convert_image.ts";
import type { DedupTarget } from "./layer_dedup.ts";

/** A converted manifest found in the store and still in the destination repository. */
export interface ReusedManifest {
  bytes: Uint8Array<ArrayBuffer>;
  descriptor: { mediaType: string; digest: string; size: number };
  layers: ConvertedLayer[];
}

/**
 * Looks up the manifest converted before from the source manifest
 * `srcDigest` (as `kind`) for the destination repository and checks that the
 * registry still has it; a stale row is deleted. Rows of other repositories
 * are left to layer dedup, which mounts their blobs.
 *
 * @returns undefined when there is no usable row
 * @throws {UnavailableError} when the registry cannot be reached
 */
export async function reuseManifest(
  store: ConversionStore,
  target: DedupTarget,
  srcDigest: string,
  kind: string,
): Promise<ReusedManifest | undefined> {
  const rows = await store.manifests(target.dst, srcDigest, kind);
  const row = rows.find((r) => r.repo === target.dst.repo);
  if (!row) return undefined;
  const found = await target.fetchManifest(row.digest);
  if (!found) {
    await store.deleteManifest(target.dst, srcDigest, kind);
    return undefined;
  }
  const manifest = found.content as ImageManifest;
  return {
    bytes: found.bytes,
    descriptor: found.descriptor,
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, reused: true })),
  };
}
