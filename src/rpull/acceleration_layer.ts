import type { Mount } from "../containerd/mod.ts";
import { UnsupportedError } from "../errors.ts";
import { readBlob, type Repository } from "../registry/mod.ts";
import { traceOfAccelerationLayer } from "../trace/mod.ts";

/**
 * Unpacks an acceleration layer (spec §8.6) into the snapshot the
 * snapshotter prepared for it: reads the small blob, takes its `trace` file
 * and writes it (mode 0444) into the bind mount's source directory, as
 * containerd's unpacker would. The snapshotter is on this host, as it is
 * for containerd's own unpack.
 *
 * @returns bytes read from the registry
 * @throws {UnsupportedError} when the mounts are not one bind mount
 * @throws {CorruptDataError} when the blob is not a tar holding `trace`
 */
export async function unpackAccelerationLayer(
  repo: Repository,
  digest: string,
  mounts: Mount[],
): Promise<number> {
  const [m] = mounts;
  if (mounts.length !== 1 || m.type !== "bind" || !m.source.startsWith("/")) {
    throw new UnsupportedError(
      `acceleration layer ${digest}: the snapshotter returned ` +
        `${JSON.stringify(mounts.map((x) => ({ type: x.type, source: x.source })))}, ` +
        "not one bind mount of a directory",
    );
  }
  const blob = await readBlob(repo, digest);
  await Deno.writeFile(`${m.source}/trace`, traceOfAccelerationLayer(blob), { mode: 0o444 });
  return blob.byteLength;
}
