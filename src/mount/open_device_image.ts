import { Image } from "../../ffi/image.ts";
import { openLayer } from "../../ffi/layer.ts";
import { openWritableLayer, type ReadOnlyLayer, type WritableLayer } from "../../ffi/lsmt.ts";
import type { BlobCache, FetchRange, RemoteBlobSource } from "../cache/mod.ts";
import type { DeviceConfig, LowerConfig } from "../config/mod.ts";
import { InvalidArgumentError } from "../errors.ts";

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
): Promise<ReadOnlyLayer> {
  const local = existing(localCandidates(lower));
  if (local) return openLayer(local);
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
  return await remote.cache.openLayer({
    source: remote.source,
    digest: lower.digest,
    size,
    fetchRange: remote.fetcherFor(config.repoBlobUrl),
  });
}

/**
 * Opens the virtual block device a `config.v1.json` describes (spec §4.2,
 * §5): each lower from its local file when one exists, else from the
 * registry through the blob cache; the upper, when given, as a writable layer.
 * Also says which lowers are remote, for the background download.
 *
 * @throws {InvalidArgumentError} for a lower that is neither local nor remote
 */
export async function openDeviceImage(
  config: DeviceConfig,
  remote?: RemoteAccess,
): Promise<{ image: Image; remotes: RemoteLower[] }> {
  const remotes: RemoteLower[] = [];
  const lowers: ReadOnlyLayer[] = [];
  let upper: WritableLayer | undefined;
  try {
    for (const [i, lower] of config.lowers.entries()) {
      lowers.push(await openLower(config, lower, i, remote, remotes));
    }
    if (config.upper.data && config.upper.index) {
      upper = openWritableLayer(config.upper.data, config.upper.index);
    }
  } catch (err) {
    for (const l of lowers) l.close();
    throw err;
  }
  return { image: Image.open(lowers, upper), remotes };
}
