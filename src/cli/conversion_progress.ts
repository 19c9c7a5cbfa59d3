import type { BlobProgress, LayerDone } from "../convert/mod.ts";

const MB = 1e6;
/** Plain log lines at most this often; a terminal line is redrawn at most every 200 ms. */
const LOG_EVERY_MS = 5000;
const DRAW_EVERY_MS = 200;

/** Bytes as kB below a megabyte, else MB. */
export function amount(bytes: number): string {
  return bytes < MB ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / MB).toFixed(1)} MB`;
}

/** Seconds as `42 s` or `3 min 05 s`. */
function duration(secs: number): string {
  if (secs < 60) return `${Math.ceil(secs)} s`;
  const m = Math.floor(secs / 60);
  return `${m} min ${String(Math.ceil(secs - m * 60)).padStart(2, "0")} s`;
}

/**
 * One progress line of a layer: tar bytes applied and their rate, how much
 * of the compressed blob is decoded, and the ETA — the tar's total size
 * estimated from the ratio decoded so far, the rest at the rate so far.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(
 *   progressLine(0, 50e6, { read: 10e6, size: 40e6, decoded: 50e6 }, 2),
 *   "layer 1: 50.0 MB of tar, 25.0 MB/s, blob 25% of 40.0 MB, ETA 6 s",
 * );
 * ```
 */
export function progressLine(layer: number, tarBytes: number, blob: BlobProgress, secs: number) {
  const rate = secs > 0 ? tarBytes / MB / secs : 0;
  const part = blob.size > 0 ? blob.read / blob.size : 1;
  const total = part > 0 ? blob.decoded / part : 0;
  const eta = tarBytes > 0 && secs > 0 && total > 0
    ? duration(Math.max(0, total - tarBytes) * secs / tarBytes)
    : "?";
  return `layer ${layer + 1}: ${amount(tarBytes)} of tar, ${rate.toFixed(1)} MB/s, ` +
    `blob ${Math.floor(part * 100)}% of ${amount(blob.size)}, ETA ${eta}`;
}

/** What {@linkcode conversionProgress} hands to the convertor. */
export interface ConversionProgress {
  onProgress(layer: number, tarBytes: number, blob: BlobProgress): void;
  /** Prints a finished layer's line (clearing a progress line first). */
  onLayer(done: LayerDone): void;
  /** Clears the progress line, if any. */
  finish(): void;
}

/**
 * Progress of a conversion on stderr: on a terminal one line redrawn in
 * place, otherwise a plain line every ~5 s; a line per finished layer either way.
 */
export function conversionProgress(
  tty = Deno.stderr.isTerminal(),
  write: (text: string) => void = (t) => Deno.stderr.writeSync(new TextEncoder().encode(t)),
): ConversionProgress {
  let current = -1;
  let start = 0;
  let last = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) write("\r\x1b[K");
    drawn = false;
  };
  return {
    onProgress(layer, tarBytes, blob) {
      const now = performance.now();
      if (layer !== current) [current, start, last] = [layer, now, now];
      if (now - last < (tty ? DRAW_EVERY_MS : LOG_EVERY_MS)) return;
      last = now;
      const line = progressLine(layer, tarBytes, blob, (now - start) / 1000);
      if (tty) {
        write(`\r\x1b[K${line}`);
        drawn = true;
      } else {
        write(`${line}\n`);
      }
    },
    onLayer(l) {
      clear();
      const where = `${l.platform ? `${l.platform} ` : ""}layer ${l.index + 1}/${l.count}`;
      if (l.reused) {
        write(`${where} ${l.source}: reused ${l.blob.digest} (${amount(l.blob.size)})\n`);
        return;
      }
      const rate = l.tarBytes / MB / l.seconds;
      write(
        `${where} ${l.source}: ${amount(l.tarBytes)} of tar in ${l.seconds.toFixed(2)} s ` +
          `(${rate.toFixed(1)} MB/s) -> ${l.blob.digest} (${amount(l.blob.size)})\n`,
      );
    },
    finish: clear,
  };
}
