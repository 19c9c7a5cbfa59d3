import { InvalidArgumentError } from "../errors.ts";
import { digestOf, isDigest } from "../registry/mod.ts";

/**
 * The OCI chainIDs of a layer stack: `chainID(0) = diffID(0)`,
 * `chainID(i) = sha256(chainID(i-1) + " " + diffID(i))`. The convertor keys
 * the uuid of each converted layer (spec §7.3) and the dedup table (§7.6) on them.
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

/**
 * The uuid upstream's convertor gives the converted layer with this chainID
 * (spec §7.3 step 4): the first 32 hex digits, `sha256:` stripped, as 8-4-4-4-12.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const id = "sha256:" + "0123456789abcdef".repeat(4);
 * assert.equal(layerUuid(id), "01234567-89ab-cdef-0123-456789abcdef");
 * ```
 */
export function layerUuid(chainId: string): string {
  const hex = chainId.replace(/^sha256:/, "");
  if (!/^[0-9a-f]{32}/.test(hex)) {
    throw new InvalidArgumentError(`chainID '${chainId}' does not start with 32 hex digits`);
  }
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20, 32),
  ]
    .join("-");
}
