import { createHash } from "node:crypto";
import { CorruptDataError } from "../errors.ts";
import { type Descriptor, readBlobRange, type Repository } from "../registry/mod.ts";

const CHUNK = 16 << 20;

/**
 * Downloads a blob into the file `path` with ranged reads of 16 MiB, so a
 * large layer never sits in memory whole, and checks its sha256 digest.
 *
 * @throws {CorruptDataError} when the bytes do not match the digest
 * @throws {UnavailableError} when the registry cannot be reached
 */
export async function fetchBlobToFile(
  repo: Repository,
  blob: Descriptor,
  path: string,
): Promise<void> {
  const hash = createHash("sha256");
  const buf = new Uint8Array(CHUNK);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let at = 0; at < blob.size; at += CHUNK) {
    const chunk = await readBlobRange(repo, blob.digest, at, Math.min(CHUNK, blob.size - at), buf);
    hash.update(chunk);
    for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
  }
  const digest = `sha256:${hash.digest("hex")}`;
  if (digest !== blob.digest) {
    throw new CorruptDataError(
      `blob ${blob.digest} in ${repo.registry}/${repo.name} has digest ${digest}`,
    );
  }
}
