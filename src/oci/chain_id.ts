import { InvalidArgumentError } from "../errors.ts";
import { digestOf, isDigest } from "../registry/mod.ts";

/**
 * The OCI chainIDs of a layer stack: `chainID(0) = diffID(0)`,
 * `chainID(i) = sha256(chainID(i-1) + " " + diffID(i))`. The convertor keys
 * the uuid of each converted layer (spec §7.3) and the dedup table (§7.6) on
 * them; containerd names committed layer snapshots by them.
 *
 * @throws {InvalidArgumentError} for a diffID that is not a digest
 */
export async function chainIds(diffIds: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const [i, diffId] of diffIds.entries()) {
    if (!isDigest(diffId)) {
      throw new InvalidArgumentError(`diff_ids[${i}] '${diffId}' is not a digest`);
    }
    out.push(
      i === 0 ? diffId : await digestOf(new TextEncoder().encode(`${out[i - 1]} ${diffId}`)),
    );
  }
  return out;
}
