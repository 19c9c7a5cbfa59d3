import type { WritableLayer } from "../../ffi/lsmt.ts";
import { openFile } from "../../ffi/file.ts";

const BLOCK = 4096;
const CHUNK = 1 << 20;

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Copies a raw disk image into a writable layer, skipping 4 KiB blocks that
 * are all zeros (they read as zeros from an empty layer anyway), the way a
 * filesystem image becomes a layer without storing its free space.
 *
 * @returns the number of bytes written into the layer
 */
export function importRaw(rawPath: string, layer: WritableLayer): number {
  const raw = openFile(rawPath);
  const buf = new Uint8Array(CHUNK);
  let written = 0;
  try {
    for (let pos = 0; pos < raw.size; pos += CHUNK) {
      const n = raw.pread(buf, pos);
      let runStart = -1;
      for (let at = 0; at <= n; at += BLOCK) {
        const zero = at === n || isZero(buf.subarray(at, Math.min(at + BLOCK, n)));
        if (!zero && runStart < 0) runStart = at;
        if (zero && runStart >= 0) {
          // The layer takes whole sectors; a short tail is padded with zeros.
          const end = Math.ceil(at / 512) * 512;
          layer.pwrite(buf.slice(runStart, end), pos + runStart);
          written += end - runStart;
          runStart = -1;
        }
      }
    }
  } finally {
    raw.close();
  }
  return written;
}
