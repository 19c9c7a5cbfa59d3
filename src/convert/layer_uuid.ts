import { InvalidArgumentError } from "../errors.ts";

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
