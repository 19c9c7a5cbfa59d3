import type { LayerBlob } from "../oci/mod.ts";
import type { FetchedManifest } from "../registry/mod.ts";
import type { ConversionStore, StoreDestination } from "./conversion_store.ts";
import { layerKey } from "./dedup_settings.ts";

/** What dedup needs of a destination registry (spec §7.6). */
export interface DedupTarget {
  dst: StoreDestination;
  /** Whether repository `repo` of the destination registry has the blob (HEAD). */
  hasBlob(repo: string, digest: string): Promise<boolean>;
  /** Downloads the blob from `repo` of the destination registry into `path`, digest checked. */
  fetchBlob(repo: string, blob: LayerBlob, path: string): Promise<void>;
  /** The manifest with this digest in the destination repository, undefined when absent. */
  fetchManifest(digest: string): Promise<FetchedManifest | undefined>;
}

/** A converted layer found in the store and still in the registry. */
export interface ReusedLayer extends LayerBlob {
  /** Another repository of the same registry to mount the blob from; unset for the destination's own. */
  mountFrom?: string;
}

/**
 * Looks up the layer converted from `chainId` with the same output
 * `settings` (`outputSettingsKey`) for the destination registry:
 * a row of the destination repository first, then of any other repository
 * on the same host (to be cross-repo mounted). A row whose blob the registry
 * no longer has is deleted. The blob found is fetched into `path`, so that
 * later layers can stack on it.
 *
 * @returns undefined when no usable row exists
 * @throws {UnavailableError} when the registry cannot be reached
 * @throws {CorruptDataError} when the fetched blob does not match its digest
 */
export async function reuseLayer(
  store: ConversionStore,
  target: DedupTarget,
  chainId: string,
  settings: string,
  path: string,
): Promise<ReusedLayer | undefined> {
  const key = layerKey(chainId, settings);
  for (const row of await store.layers(target.dst, key)) {
    if (!await target.hasBlob(row.repo, row.digest)) {
      await store.deleteLayer({ host: target.dst.host, repo: row.repo }, key);
      continue;
    }
    const blob = { digest: row.digest, size: row.size };
    await target.fetchBlob(row.repo, blob, path);
    return row.repo === target.dst.repo ? blob : { ...blob, mountFrom: row.repo };
  }
  return undefined;
}
