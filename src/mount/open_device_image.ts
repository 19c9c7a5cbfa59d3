import { Image } from "../../ffi/image.ts";
import { openLayer } from "../../ffi/layer.ts";
import { openWritableLayer, type ReadOnlyLayer, type WritableLayer } from "../../ffi/lsmt.ts";
import type { BlobCache, FetchRange, RemoteBlobSource } from "../cache/mod.ts";
import type { DeviceConfig, LowerConfig } from "../config/mod.ts";
import { InvalidArgumentError } from "../errors.ts";
import {
  openTracedLayer,
  openTracedLayerAsync,
  planPrefetch,
  type PrefetchMode,
  TraceRecorder,
} from "../trace/mod.ts";

/** Where remote lowers come from while opening a device. */
export interface RemoteAccess {
  cache: BlobCache;
  source: RemoteBlobSource;
  /** Reads ranges of blobs below `repoBlobUrl`. */
  fetcherFor(repoBlobUrl: string): FetchRange;
  /** The size of a blob whose lower does not say it. */
  sizeOf(repoBlobUrl: string, digest: string): Promise<number>;
}

/** Local candidates for a lower, in the order of spec §4.2. */
function localCandidates(lower: LowerConfig): string[] {
  const files = lower.file ? [lower.file] : [];
  if (lower.dir) {
    for (const name of ["overlaybd.commit", ".commit", "overlaybd.sealed"]) {
      files.push(`${lower.dir}/${name}`);
    }
  }
  return files;
}

function existing(paths: string[]): string | undefined {
  for (const p of paths) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return undefined;
}

/** A lower that is read from the registry. */
export interface RemoteLower {
  digest: string;
  size: number;
  dir?: string;
  repoBlobUrl: string;
}

async function openLower(
  config: DeviceConfig,
  lower: LowerConfig,
  i: number,
  remote: RemoteAccess | undefined,
  remotes: RemoteLower[],
  recorder: TraceRecorder | undefined,
): Promise<ReadOnlyLayer> {
  const local = existing(localCandidates(lower));
  if (local) return recorder ? openTracedLayer(local, recorder, i) : openLayer(local);
  if (!lower.digest) {
    throw new InvalidArgumentError(
      `lowers[${i}]: none of ${localCandidates(lower).join(", ")} exists and no digest is given`,
    );
  }
  if (!remote) {
    throw new InvalidArgumentError(`lowers[${i}] is remote but no registry access was set up`);
  }
  const size = lower.size ?? await remote.sizeOf(config.repoBlobUrl, lower.digest);
  remotes.push({ digest: lower.digest, size, dir: lower.dir, repoBlobUrl: config.repoBlobUrl });
  const blob = {
    source: remote.source,
    digest: lower.digest,
    size,
    fetchRange: remote.fetcherFor(config.repoBlobUrl),
  };
  if (!recorder) return await remote.cache.openLayer(blob);
  return await openTracedLayerAsync(remote.cache.openBlob(blob), recorder, i);
}

/** What {@linkcode openDeviceImage} opened. */
export interface DeviceImage {
  image: Image;
  /** The lowers read from the registry, for the background download. */
  remotes: RemoteLower[];
  /** What to do about prefetch once the device is served (spec §8.1). */
  prefetch: PrefetchMode;
  /** In record mode: the recorder every lower reads through. */
  recorder?: TraceRecorder;
  /** Why a prefetch file was not used, for the log. */
  prefetchSkipped?: string;
}

/**
 * Opens the virtual block device a `config.v1.json` describes (spec §4.2,
 * §5): each lower from its local file when one exists, else from the
 * registry through the blob cache; the upper, when given, as a writable layer.
 * Prefetch is planned first (spec §8.1): an acceleration layer is left out
 * of the stack, and in record mode every lower is opened through one trace
 * recorder, so that the reads of the open itself are recorded too.
 * Also says which lowers are remote, for the background download.
 *
 * @throws {InvalidArgumentError} for a lower that is neither local nor
 *   remote, or a config that both records and has an acceleration layer
 */
export async function openDeviceImage(
  deviceConfig: DeviceConfig,
  remote?: RemoteAccess,
): Promise<DeviceImage> {
  const plan = await planPrefetch(deviceConfig);
  const config = plan.config;
  const recorder = plan.mode.kind === "record" ? TraceRecorder.create() : undefined;
  const remotes: RemoteLower[] = [];
  const lowers: ReadOnlyLayer[] = [];
  let upper: WritableLayer | undefined;
  try {
    for (const [i, lower] of config.lowers.entries()) {
      lowers.push(await openLower(config, lower, i, remote, remotes, recorder));
    }
    if (config.upper.data && config.upper.index) {
      upper = openWritableLayer(config.upper.data, config.upper.index);
    }
  } catch (err) {
    for (const l of lowers) l.close();
    recorder?.close();
    throw err;
  }
  let image: Image;
  try {
    image = Image.open(lowers, upper);
  } catch (err) {
    recorder?.close();
    throw err;
  }
  return { image, remotes, prefetch: plan.mode, recorder, prefetchSkipped: plan.skipped };
}
