import type { ZfileAlgorithm } from "../../ffi/zfile.ts";

/** What changes the bytes of a converted layer besides its source chain. */
export interface OutputSettings {
  /** Filesystem made in the first layer. */
  fs: "ext4";
  algorithm: ZfileAlgorithm;
  /** ZFile block size in bytes. */
  blockSize: number;
  /** Virtual size of the image in bytes (mkfs of the first layer shapes every layer above). */
  virtualSize: number;
}

const GIB = 2 ** 30;

/** The settings a conversion's options ask for, defaults filled in (LZ4, 4 KiB, 64 GiB, ext4). */
export function outputSettings(
  o: { algorithm?: ZfileAlgorithm; blockSize?: number; virtualSize?: number },
): OutputSettings {
  return {
    fs: "ext4",
    algorithm: o.algorithm ?? "lz4",
    blockSize: o.blockSize ?? 4096,
    virtualSize: o.virtualSize ?? 64 * GIB,
  };
}

/**
 * Version of the conversion itself: bump it when the same input and settings
 * start giving other bytes (mkfs parameters, apply semantics), so that
 * layers converted before are not reused.
 */
const CONVERTER = "obd1";

/**
 * The settings as the part of a dedup key that spec §7.6 lacks: a layer is
 * reused only for the same chainID *and* the same settings, so a conversion
 * with another algorithm, block size, virtual size or filesystem rebuilds it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const s = outputSettingsKey({ fs: "ext4", algorithm: "lz4", blockSize: 4096, virtualSize: 2 ** 36 });
 * assert.equal(s, "obd1;fs=ext4;algorithm=lz4;bs=4096;vsize=68719476736");
 * ```
 */
export function outputSettingsKey(s: OutputSettings): string {
  return `${CONVERTER};fs=${s.fs};algorithm=${s.algorithm};bs=${s.blockSize};vsize=${s.virtualSize}`;
}

/** The `chain_id` column of a layer row: the source chainID with the settings. */
export function layerKey(chainId: string, settings: string): string {
  return `${chainId};${settings}`;
}

/** The `mediatype` column of a manifest row: the output kind with the settings. */
export function manifestKey(kind: string, settings: string): string {
  return `${kind};${settings}`;
}
