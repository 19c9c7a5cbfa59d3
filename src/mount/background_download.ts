import { createHash } from "node:crypto";
import type { NativeFile } from "../../ffi/file.ts";
import { preadFileAsync } from "../cache/mod.ts";
import type { DownloadConfig } from "../config/mod.ts";
import { CorruptDataError } from "../errors.ts";

/** One remote layer blob to download completely. */
export interface DownloadTarget {
  digest: string;
  size: number;
  /** Layer directory: the verified blob is kept as `<dir>/overlaybd.commit` (spec §11.3). */
  dir?: string;
  /** Opens the blob read through the cache (so downloaded pages serve the device too). */
  open(): NativeFile;
}

/** Progress of one target, for `overlaybd mount` listings and tests. */
export interface DownloadStatus {
  digest: string;
  state: "waiting" | "running" | "done" | "failed";
  bytes: number;
  error?: string;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Reads the whole blob in `blockSize` steps at no more than `maxMBps`, hashing as it goes. */
async function downloadOnce(
  target: DownloadTarget,
  config: DownloadConfig,
  status: DownloadStatus,
  signal: AbortSignal,
): Promise<void> {
  const file = target.open();
  const keep = target.dir
    ? await Deno.open(`${target.dir}/.download`, { write: true, create: true, truncate: true })
    : undefined;
  try {
    const hash = createHash("sha256");
    const buf = new Uint8Array(config.blockSize);
    const started = performance.now();
    status.bytes = 0;
    for (let pos = 0; pos < target.size && !signal.aborted; pos += buf.length) {
      const n = await preadFileAsync(
        file,
        buf.subarray(0, Math.min(buf.length, target.size - pos)),
        pos,
      );
      hash.update(buf.subarray(0, n));
      if (keep) await keep.write(buf.subarray(0, n));
      status.bytes += n;
      if (config.maxMBps > 0) {
        const due = (status.bytes / (config.maxMBps * 1048576)) * 1000;
        const ahead = due - (performance.now() - started);
        if (ahead > 0) await sleep(ahead, signal);
      }
    }
    if (signal.aborted) return;
    const got = `sha256:${hash.digest("hex")}`;
    if (got !== target.digest) {
      throw new CorruptDataError(`downloaded blob ${target.digest} hashes to ${got}`);
    }
    if (keep && target.dir) {
      keep.close();
      await Deno.rename(`${target.dir}/.download`, `${target.dir}/overlaybd.commit`);
    }
  } finally {
    try {
      keep?.close();
    } catch { /* closed after the rename */ }
    file.close();
  }
}

/**
 * Background full download (spec §5.4, §11.3): after `delay` plus up to
 * `delayExtra` seconds, reads each remote layer completely, in order,
 * through the blob cache at no more than `maxMBps`, verifies its sha256, and
 * keeps it as `<dir>/overlaybd.commit` when the layer has a directory. Each
 * layer gets `tryCnt` attempts. Resolves when all are done, failed, or
 * `signal` aborts; never rejects.
 */
export async function backgroundDownload(
  targets: DownloadTarget[],
  config: DownloadConfig,
  statuses: DownloadStatus[],
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const extra = config.delayExtra > 0 ? Math.floor(Math.random() * config.delayExtra) : 0;
  await sleep((config.delay + extra) * 1000, signal);
  for (const [i, target] of targets.entries()) {
    const status = statuses[i];
    for (let attempt = 1; attempt <= Math.max(1, config.tryCnt) && !signal.aborted; attempt++) {
      status.state = "running";
      try {
        await downloadOnce(target, config, status, signal);
        if (signal.aborted) return;
        status.state = "done";
        log(`downloaded ${target.digest} (${target.size} bytes)`);
        break;
      } catch (err) {
        status.state = "failed";
        status.error = (err as Error).message;
        log(`download of ${target.digest}, attempt ${attempt}: ${status.error}`);
      }
    }
  }
}
