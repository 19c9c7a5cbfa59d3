/**
 * Parsers for command-line values. Each throws {@linkcode InvalidArgumentError}
 * with a message that says what was expected, so every bad flag gets a
 * one-line answer.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import type { ZfileAlgorithm } from "../../ffi/zfile.ts";

/** A non-negative integer (decimal, or 0x hex). */
export function parseCount(value: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(value)
    ? parseInt(value, 16)
    : /^\d+$/.test(value)
    ? Number(value)
    : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got '${value}'`);
  }
  return n;
}

/** A virtual size given in GiB, as `overlaybd-create` takes it; returns bytes. */
export function parseGiB(value: string): number {
  const gib = parseCount(value, "virtual size (GiB)");
  if (gib > 1 << 20) throw new InvalidArgumentError(`virtual size ${gib} GiB is larger than 1 PiB`);
  return gib * 2 ** 30;
}

/** A ZFile block size in KiB (4, 8, 16, 32 or 64, as upstream's `--bs`); returns bytes. */
export function parseBlockSizeKiB(value: string): number {
  const kib = parseCount(value, "block size (KiB)");
  if (![4, 8, 16, 32, 64].includes(kib)) {
    throw new InvalidArgumentError(`block size must be 4, 8, 16, 32 or 64 (KiB), got '${value}'`);
  }
  return kib * 1024;
}

/** `lz4` or `zstd`. */
export function parseAlgorithm(value: string): ZfileAlgorithm {
  const v = value.toLowerCase();
  if (v !== "lz4" && v !== "zstd") {
    throw new InvalidArgumentError(`algorithm must be 'lz4' or 'zstd', got '${value}'`);
  }
  return v;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in 8-4-4-4-12 form (either case). */
export function parseUuid(value: string): string {
  if (!UUID.test(value)) {
    throw new InvalidArgumentError(`'${value}' is not a UUID (want 8-4-4-4-12 hex digits)`);
  }
  return value;
}

/** `DATA,INDEX`: the two files of a writable layer. */
export function parseWritablePair(value: string): { data: string; index: string } {
  const parts = value.split(",");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new InvalidArgumentError(`--upper wants DATA,INDEX (two paths), got '${value}'`);
  }
  return { data: parts[0], index: parts[1] };
}
