import { Ext4Fs, mkfs } from "../../ffi/ext4_apply.ts";
import type { DeviceConfig } from "../config/mod.ts";
import { OverlaybdError } from "../errors.ts";
import { applyEntry } from "./apply_entry.ts";
import { openLayerTar } from "./decompress.ts";
import { cleanEntryPath } from "./entry_path.ts";
import { openConfigImage } from "./open_image.ts";
import { readTar, type TarEntryWithBody } from "./tar_reader.ts";
import { applyWhiteout, parseWhiteout } from "./whiteout.ts";

/** What applying a layer did. */
export interface ApplyStats {
  /** Tar entries read, whiteouts included. */
  entries: number;
  /** Bytes of regular-file content written. */
  fileBytes: number;
  /** Whiteout entries applied. */
  whiteouts: number;
  /** Entries of lower layers they removed. */
  removed: number;
  /** Bytes of uncompressed tar read. */
  tarBytes: number;
}

/** Options of {@linkcode applyLayer}. */
export interface ApplyLayerOptions {
  /** Format the image first (the first layer of an image). */
  mkfs?: boolean;
  /** Filesystem size in bytes for `mkfs`; default the image's virtual size. */
  fsSize?: number;
  /**
   * Seconds since the epoch recorded wherever the filesystem itself stores a
   * time (mkfs, superblock writes); unset = the clock. A fixed value makes
   * the layer reproducible.
   */
  timestamp?: number;
  /** Called with the uncompressed tar bytes read so far, after every chunk. */
  onProgress?: (tarBytes: number) => void;
}

/** The same kind of error with what was being done put in front. */
function inContext(err: unknown, context: string): unknown {
  if (!(err instanceof OverlaybdError)) return err;
  const Kind = err.constructor as new (message: string, options?: ErrorOptions) => OverlaybdError;
  return new Kind(`${context}: ${err.message}`, { cause: err });
}

/**
 * Applies the tar entries to the merged filesystem `fs` with OCI layer
 * semantics (spec §7.5): whiteouts remove what lower layers had, entries of
 * this layer are kept whatever the order, existing paths of another kind
 * are replaced, directories merge.
 *
 * @throws the error kind of the failure, its message naming the entry
 */
export async function applyTar(
  fs: Ext4Fs,
  entries: AsyncIterable<TarEntryWithBody>,
): Promise<Omit<ApplyStats, "tarBytes">> {
  const stats = { entries: 0, fileBytes: 0, whiteouts: 0, removed: 0 };
  const made = new Set<string>();
  for await (const entry of entries) {
    stats.entries++;
    try {
      const path = cleanEntryPath(entry.path);
      const whiteout = parseWhiteout(path);
      if (whiteout) {
        stats.whiteouts++;
        stats.removed += applyWhiteout(fs, whiteout, made);
        continue;
      }
      stats.fileBytes += await applyEntry(fs, path, entry);
      made.add(path);
    } catch (err) {
      throw inContext(err, `layer entry ${entry.path}`);
    }
  }
  return stats;
}

/** Counts the bytes passing through `stream`. */
function meter(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
  onBytes: (total: number) => void,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let total = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>({
      transform(chunk, ctrl) {
        total += chunk.byteLength;
        onBytes(total);
        ctrl.enqueue(chunk);
      },
    }),
  );
}

/**
 * Applies the layer tar at `tarPath` (plain, gzip or zstd) onto the image a
 * device config describes, as `overlaybd-apply` does: opens the lowers and
 * the writable upper, formats first with `mkfs`, streams the entries into
 * the filesystem and closes it. After a failure the writable layer holds a
 * consistent but partly applied filesystem: discard it.
 *
 * @param what names the config in messages
 * @throws the error kind of the first failure, naming the layer entry
 */
export async function applyLayer(
  tarPath: string,
  config: DeviceConfig,
  what: string,
  options: ApplyLayerOptions = {},
): Promise<ApplyStats> {
  const image = openConfigImage(config, what);
  try {
    if (options.mkfs) mkfs(image, { size: options.fsSize, timestamp: options.timestamp });
    const fs = Ext4Fs.open(image);
    if (options.timestamp) fs.setTime(options.timestamp);
    let tarBytes = 0;
    let stats: Omit<ApplyStats, "tarBytes">;
    try {
      const { stream } = await openLayerTar(tarPath);
      const counted = meter(stream, (n) => {
        tarBytes = n;
        options.onProgress?.(n);
      });
      stats = await applyTar(fs, readTar(counted));
    } catch (err) {
      try {
        fs.close();
      } catch { /* the apply failure is the one worth reporting */ }
      throw inContext(err, `apply ${tarPath}`);
    }
    fs.close();
    return { ...stats, tarBytes };
  } finally {
    image.close();
  }
}
