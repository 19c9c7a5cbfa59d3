import {
  blobExists,
  type Descriptor,
  type ImageManifest,
  pushBlob,
  pushManifest,
  readBlob,
  type Repository,
} from "../registry/mod.ts";
import { appendAccelerationLayer, buildAccelerationLayer } from "./acceleration_layer.ts";

/** The image a trace was recorded from, as read from its registry. */
export interface SourceImage {
  repo: Repository;
  manifest: ImageManifest;
  /** Its config JSON. */
  config: Record<string, unknown>;
}

/** What {@linkcode pushAccelerated} pushed. */
export interface PushedAccelerated {
  manifest: Descriptor;
  /** The acceleration layer's descriptor. */
  layer: Descriptor;
  /** Layers of the source copied by bytes (not there, not mountable). */
  copied: number;
}

/**
 * Asks `dst`'s registry to link blob `digest` from repository `from` on
 * the same registry; false (upload session cancelled) when it will not.
 */
async function mountBlob(dst: Repository, digest: string, from: string): Promise<boolean> {
  const res = await dst.send({
    method: "POST",
    path: `blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
    push: true,
    extraScopes: [`repository:${from}:pull`],
  });
  if (res.status === 201) return true;
  const location = res.headers.get("location");
  if (res.status === 202 && location) {
    await dst.send({ method: "DELETE", path: location, push: true }).catch(() => {});
  }
  return false;
}

/** Makes `dst` hold blob `d` of `src`: there already, mounted, or copied. */
async function ensureBlob(src: Repository, dst: Repository, d: Descriptor): Promise<boolean> {
  if (await blobExists(dst, d.digest)) return false;
  if (src.registry === dst.registry && await mountBlob(dst, d.digest, src.name)) return false;
  await pushBlob(dst, await readBlob(src, d.digest), { digest: d.digest });
  return true;
}

/**
 * Pushes `source` with `trace` packed as its acceleration layer (spec
 * §8.6) to `dst` under `tag`: the source's layers (mounted or copied when
 * `dst` is another repository), the new layer, the new config, then the
 * manifest.
 *
 * @param trace a trace file (spec §8.3) or a prefetch list (§8.5)
 * @param created RFC 3339 time of the history entry; omitted when absent
 * @throws {AlreadyExistsError} when the source has an acceleration layer already
 */
export async function pushAccelerated(
  source: SourceImage,
  trace: Uint8Array,
  dst: Repository,
  tag: string,
  created?: string,
): Promise<PushedAccelerated> {
  const layer = await buildAccelerationLayer(trace, source.manifest.layers.at(-1));
  const built = await appendAccelerationLayer(source.manifest, source.config, layer, { created });
  let copied = 0;
  for (const l of source.manifest.layers) if (await ensureBlob(source.repo, dst, l)) copied++;
  await pushBlob(dst, layer.blob, { digest: layer.digest });
  await pushBlob(dst, built.config, { digest: built.configDescriptor.digest });
  const manifest = await pushManifest(dst, built.manifest, {
    tag,
    mediaType: built.manifestDescriptor.mediaType,
  });
  return { manifest, layer: layer.descriptor, copied };
}
