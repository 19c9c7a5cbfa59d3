import { InvalidArgumentError } from "../errors.ts";
import { chainIds, overlaybdLayers } from "../oci/mod.ts";
import type { Descriptor, ImageManifest, Reference, ResolvedImage } from "../registry/mod.ts";
import { formatReference } from "../registry/mod.ts";

/** Label that makes a snapshotter Prepare a pull of the layer with this chainID. */
export const SNAPSHOT_REF = "containerd.io/snapshot.ref";
/** Image reference label the snapshotter builds `repoBlobUrl` from (spec §7.2). */
export const IMAGE_REF = "containerd.io/snapshot/image-ref";
const INHERITED = "containerd.io/snapshot/";

/** A blob to store in containerd's content store, with its garbage-collection labels. */
export interface ContentItem {
  descriptor: Descriptor;
  bytes: Uint8Array<ArrayBuffer>;
  labels: Record<string, string>;
}

/** One layer snapshot to prepare through the snapshotter. */
export interface LayerSnapshot {
  /** The committed snapshot's name: the layer's chainID. */
  chainId: string;
  /** chainID of the layer below, "" for the bottom layer. */
  parent: string;
  /** Labels of the pull Prepare: the layer's `containerd.io/snapshot/` annotations and the ref. */
  labels: Record<string, string>;
}

/** Everything rpull writes to containerd for one image. */
export interface PullPlan {
  /** Image name, the normalised reference (`registry/repository:tag`). */
  name: string;
  /** What the image record points at: the index when the reference named one. */
  target: Descriptor;
  /** Index (if any), manifest and config, each with its gc labels. */
  contents: ContentItem[];
  /** Bottom layer first. */
  layers: LayerSnapshot[];
}

/** What {@linkcode pullPlan} needs from the registry. */
export interface PulledImage {
  reference: Reference;
  resolved: ResolvedImage;
  config: Uint8Array<ArrayBuffer>;
}

function diffIdsOf(config: Uint8Array, manifest: ImageManifest, name: string): string[] {
  let parsed: { rootfs?: { diff_ids?: unknown } };
  try {
    parsed = JSON.parse(new TextDecoder().decode(config));
  } catch (cause) {
    throw new InvalidArgumentError(`${name}: config ${manifest.config.digest} is not JSON`, {
      cause,
    });
  }
  const ids = parsed.rootfs?.diff_ids;
  if (
    !Array.isArray(ids) || ids.length !== manifest.layers.length ||
    !ids.every((d) => typeof d === "string")
  ) {
    throw new InvalidArgumentError(
      `${name}: config rootfs.diff_ids does not list one diffID per layer (${manifest.layers.length})`,
    );
  }
  return ids;
}

function snapshotLabels(layer: Descriptor, chainId: string, ref: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(layer.annotations ?? {})) {
    if (k.startsWith(INHERITED)) labels[k] = v;
  }
  labels[SNAPSHOT_REF] = chainId;
  labels[IMAGE_REF] = ref;
  return labels;
}

const descriptorOf = (d: Descriptor): Descriptor => ({
  mediaType: d.mediaType,
  digest: d.digest,
  size: d.size,
});

/**
 * Plans a lazy pull of an overlaybd image into containerd with the
 * snapshotter `snapshotter`: the content blobs carry the labels containerd's
 * own pull would set (`containerd.io/gc.ref.*` so the garbage collector keeps
 * manifest, config and the unpacked snapshot chain with the image), and one
 * pull Prepare per layer whose `containerd.io/snapshot.ref` makes the
 * snapshotter commit a remote snapshot instead of asking for the layer.
 *
 * @throws {InvalidArgumentError} when a layer is not an overlaybd layer or the config does not match the manifest
 */
export async function pullPlan(image: PulledImage, snapshotter: string): Promise<PullPlan> {
  const { reference, resolved, config } = image;
  const name = formatReference(reference);
  const { manifest } = resolved;
  overlaybdLayers(manifest, name);
  const chain = await chainIds(diffIdsOf(config, manifest, name));
  const source = {
    [`containerd.io/distribution.source.${reference.registry}`]: reference.repository,
  };

  const manifestLabels: Record<string, string> = {
    ...source,
    "containerd.io/gc.ref.content.config": manifest.config.digest,
  };
  manifest.layers.forEach((l, i) =>
    manifestLabels[`containerd.io/gc.ref.content.l.${i}`] = l.digest
  );
  const contents: ContentItem[] = [
    {
      descriptor: descriptorOf(manifest.config),
      bytes: config,
      labels: { ...source, [`containerd.io/gc.ref.snapshot.${snapshotter}`]: chain.at(-1)! },
    },
    {
      descriptor: descriptorOf(resolved.descriptor),
      bytes: resolved.bytes,
      labels: manifestLabels,
    },
  ];
  let target = descriptorOf(resolved.descriptor);
  if (resolved.index) {
    target = descriptorOf(resolved.index.descriptor);
    contents.push({
      descriptor: target,
      bytes: resolved.index.bytes,
      labels: { ...source, "containerd.io/gc.ref.content.m.0": resolved.descriptor.digest },
    });
  }
  const layers = manifest.layers.map((l, i) => ({
    chainId: chain[i],
    parent: i === 0 ? "" : chain[i - 1],
    labels: snapshotLabels(l, chain[i], name),
  }));
  return { name, target, contents, layers };
}
