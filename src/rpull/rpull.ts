import { type ContainerdClient, LEASE_EXPIRE_LABEL } from "../containerd/mod.ts";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import {
  type Platform,
  readBlob,
  type Reference,
  type Repository,
  resolveImage,
} from "../registry/mod.ts";
import { labels as obd } from "../oci/mod.ts";
import { unpackAccelerationLayer } from "./acceleration_layer.ts";
import { type PullPlan, pullPlan } from "./pull_plan.ts";

/** Options of {@linkcode rpull}. */
export interface RpullOptions {
  /** Name of the proxy snapshotter in containerd's config (default `overlaybd`). */
  snapshotter?: string;
  platform?: Platform;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What {@linkcode rpull} did. */
export interface RpullResult {
  plan: PullPlan;
  /** Bytes read from the registry: manifests, config and an acceleration layer, no other layer. */
  bytesFetched: number;
  /** Layers whose snapshot existed already (pulled before, maybe in another namespace). */
  layersPresent: number;
}

/** A lease keeps what a pull writes from the garbage collector until the image holds it. */
const LEASE_TTL_MS = 60 * 60 * 1000;

function extractKey(chainId: string): string {
  return `extract-${Date.now()}-${crypto.randomUUID().slice(0, 8)} ${chainId}`;
}

/** Whether `name` is a snapshot containerd knows in this namespace. */
async function exists(ctd: ContainerdClient, snapshotter: string, name: string): Promise<boolean> {
  try {
    await ctd.snapshots(snapshotter).stat(name);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

async function storeImage(ctd: ContainerdClient, plan: PullPlan): Promise<void> {
  const { mediaType, digest, size } = plan.target;
  const image = { name: plan.name, target: { mediaType, digest, size: BigInt(size) } };
  try {
    await ctd.images.create(image);
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    await ctd.images.update(image, ["target"]);
  }
}

/**
 * Pulls an overlaybd image into containerd without downloading its layers:
 * manifest and config go to the content store, each layer becomes a remote
 * snapshot of the overlaybd snapshotter (a pull Prepare that the
 * snapshotter answers by committing the layer and saying AlreadyExists),
 * and the image record is created last, so a failed pull leaves no image.
 * An acceleration layer (spec §8.6) is the exception: its small blob is
 * read and its trace unpacked into the snapshot prepared for it.
 * Everything is written under a lease that is dropped at the end, when the
 * image's labels hold it.
 *
 * @throws {InvalidArgumentError} when the image is not an overlaybd image
 * @throws {FailedPreconditionError} when a snapshot unexpectedly needs unpacking
 */
export async function rpull(
  ctd: ContainerdClient,
  repo: Repository,
  reference: Reference,
  options: RpullOptions = {},
): Promise<RpullResult> {
  const snapshotter = options.snapshotter ?? "overlaybd";
  const log = options.log ?? (() => {});
  const before = repo.bytesFetched;
  const resolved = await resolveImage(repo, reference.digest ?? reference.tag ?? "latest", {
    platform: options.platform,
  });
  const config = await readBlob(repo, resolved.manifest.config.digest);
  const plan = await pullPlan({ reference, resolved, config }, snapshotter);

  const lease = await ctd.leases.create(`rpull-${crypto.randomUUID()}`, {
    [LEASE_EXPIRE_LABEL]: new Date(Date.now() + LEASE_TTL_MS).toISOString(),
  });
  let layersPresent = 0;
  try {
    const leased = ctd.withLease(lease.id);
    for (const item of plan.contents) {
      await leased.content.writeBlob(
        `rpull-${item.descriptor.digest}`,
        item.bytes,
        item.descriptor.digest,
        item.labels,
      );
    }
    for (const [i, layer] of plan.layers.entries()) {
      const what = `layer ${i + 1}/${plan.layers.length} ${layer.chainId}`;
      if (await exists(leased, snapshotter, layer.chainId)) {
        layersPresent++;
        log(`${what}: present`);
        continue;
      }
      const key = extractKey(layer.chainId);
      let mounts;
      try {
        mounts = await leased.snapshots(snapshotter).prepare(key, layer.parent, layer.labels);
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        log(`${what}: remote snapshot`);
        continue;
      }
      const accel = layer.labels[obd.ACCELERATION_LAYER] === "yes";
      if (accel && layer.labels[obd.BLOB_DIGEST]) {
        try {
          await unpackAccelerationLayer(repo, layer.labels[obd.BLOB_DIGEST], mounts);
          await leased.snapshots(snapshotter).commit(layer.chainId, key);
        } catch (err) {
          await leased.snapshots(snapshotter).remove(key).catch(() => {});
          throw err;
        }
        log(`${what}: acceleration layer unpacked`);
        continue;
      }
      // The snapshotter wants the layer unpacked: it did not take it as an overlaybd layer.
      await leased.snapshots(snapshotter).remove(key).catch(() => {});
      throw new InvalidArgumentError(
        `snapshotter '${snapshotter}' did not accept ${what} as a remote overlaybd layer: ` +
          `is it the overlaybd snapshotter? (plain images: 'ctr image pull --snapshotter ${snapshotter}')`,
      );
    }
    await storeImage(leased, plan);
  } finally {
    await ctd.leases.delete(lease.id).catch((err) => log(`lease ${lease.id}: ${err.message}`));
  }
  return { plan, bytesFetched: repo.bytesFetched - before, layersPresent };
}
