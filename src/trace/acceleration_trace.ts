import { CorruptDataError } from "../errors.ts";

const BLOCK = 512;

function field(h: Uint8Array, at: number, len: number): string {
  const bytes = h.subarray(at, at + len);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/**
 * The `trace` file inside an acceleration layer blob (spec §8.6: an
 * uncompressed tar whose entry `trace` is a trace or a prefetch list).
 * Entries before it are skipped; a PAX or GNU long-name entry is skipped
 * with them, so only a plain `trace` (or `./trace`) name is found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildAccelerationLayer } from "./acceleration_layer.ts";
 * const layer = await buildAccelerationLayer(new TextEncoder().encode("/usr/bin/python3\n"));
 * assert.equal(new TextDecoder().decode(traceOfAccelerationLayer(layer.blob)), "/usr/bin/python3\n");
 * ```
 *
 * @throws {CorruptDataError} when the blob is not a tar holding `trace`
 */
export function traceOfAccelerationLayer(blob: Uint8Array): Uint8Array {
  for (let at = 0; at + BLOCK <= blob.byteLength;) {
    const h = blob.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break; // end of archive
    const sizeText = field(h, 124, 12).trim();
    const size = /^[0-7]+$/.test(sizeText) ? parseInt(sizeText, 8) : NaN;
    if (!Number.isSafeInteger(size)) {
      throw new CorruptDataError(`acceleration layer: tar header at ${at} has size '${sizeText}'`);
    }
    const body = at + BLOCK;
    if (body + size > blob.byteLength) {
      throw new CorruptDataError(
        `acceleration layer: entry at ${at} of ${size} bytes runs past the blob's ${blob.byteLength}`,
      );
    }
    const name = field(h, 0, 100);
    const type = String.fromCharCode(h[156] || 0x30);
    if ((type === "0" || type === "7") && (name === "trace" || name === "./trace")) {
      return blob.slice(body, body + size);
    }
    at = body + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new CorruptDataError("acceleration layer: its tar has no entry 'trace'");
}
