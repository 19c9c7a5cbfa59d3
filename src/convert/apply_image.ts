import { Ext4Fs, mkfs } from "../../ffi/ext4_apply.ts";
import type { Image } from "../../ffi/image.ts";
import { CorruptDataError } from "../errors.ts";
import { applyTar, type EntryStats } from "./apply_tar.ts";
import { type LayerTarInfo, type OpenedLayerTar, openLayerTar } from "./decompress.ts";
import { inContext } from "./error_context.ts";
import { readTar } from "./tar_reader.ts";

/** What applying a layer did. */
export interface ApplyStats extends EntryStats {
  /** Bytes of uncompressed tar read. */
  tarBytes: number;
  /** `sha256:` digests of the layer blob as stored and of its uncompressed tar (the diff_id). */
  blobDigest: string;
  diffId: string;
}

/** How far the decoding of the layer blob got, for an ETA. */
export interface BlobProgress {
  /** Blob (compressed) bytes decoded so far and in all. */
  read: number;
  size: number;
  /** Tar bytes those gave (the decoder runs ahead of the apply). */
  decoded: number;
}

/** Options of {@linkcode applyImage}. */
export interface ApplyImageOptions {
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
  /** Called with the uncompressed tar bytes applied so far, after every chunk. */
  onProgress?: (tarBytes: number, blob: BlobProgress) => void;
  /**
   * Digests the layer must have: `digest` of the blob as stored, `diffId` of
   * its uncompressed tar (the config's `rootfs.diff_ids[i]`). Checked once
   * the whole blob was read; a mismatch fails the apply.
   */
  expect?: { digest?: string; diffId?: string };
  /** A decoder of the blob opened ahead (it is closed when the apply ends). */
  decoder?: OpenedLayerTar;
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

/** Checks the digests of a blob decoded whole against what the image says. */
function checkDigests(info: LayerTarInfo, expect: ApplyImageOptions["expect"], path: string) {
  const { blobDigest, tarDigest } = info;
  if (!blobDigest || !tarDigest) {
    throw new CorruptDataError(`${path}: the layer was not read to its end`);
  }
  if (expect?.digest && expect.digest !== blobDigest) {
    throw new CorruptDataError(`blob has digest ${blobDigest}, the manifest says ${expect.digest}`);
  }
  if (expect?.diffId && expect.diffId !== tarDigest) {
    throw new CorruptDataError(
      `uncompressed tar has digest ${tarDigest}, the config's diff_id is ${expect.diffId}`,
    );
  }
  return { blobDigest, diffId: tarDigest };
}

/**
 * Applies the layer blob at `tarPath` (plain, gzip or zstd tar) onto the
 * filesystem of the open `image` (formatted first with `mkfs`): opens the
 * filesystem, streams the entries into it (decoded on a native thread),
 * closes it — every change is then in the image's writable layer — and
 * checks the layer's digests when `expect` names them. After a failure the
 * writable layer holds a consistent but partly applied filesystem: discard it.
 *
 * @throws the error kind of the first failure, naming the layer entry;
 *   {@linkcode CorruptDataError} for a digest mismatch
 */
export async function applyImage(
  image: Image,
  tarPath: string,
  options: ApplyImageOptions = {},
): Promise<ApplyStats> {
  if (options.mkfs) mkfs(image, { size: options.fsSize, timestamp: options.timestamp });
  const fs = Ext4Fs.open(image);
  if (options.timestamp) fs.setTime(options.timestamp);
  let tarBytes = 0;
  let tar: OpenedLayerTar | undefined;
  let stats: EntryStats;
  let digests: { blobDigest: string; diffId: string };
  try {
    tar = options.decoder ?? await openLayerTar(tarPath);
    const decoding = tar;
    const counted = meter(tar.stream, (n) => {
      tarBytes = n;
      if (!options.onProgress) return;
      const { blobBytes, blobSize, tarBytes: decoded } = decoding.info();
      options.onProgress(n, { read: blobBytes, size: blobSize, decoded });
    });
    stats = await applyTar(fs, readTar(counted));
    digests = checkDigests(tar.info(), options.expect, tarPath);
  } catch (err) {
    tar?.close();
    try {
      fs.close();
    } catch { /* the apply failure is the one worth reporting */ }
    throw inContext(err, `apply ${tarPath}`);
  }
  fs.close();
  return { ...stats, tarBytes, ...digests };
}
