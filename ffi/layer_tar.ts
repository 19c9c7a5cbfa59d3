/**
 * `native/src/layer_tar.h` and `native/src/digest.h`: a layer blob (plain,
 * gzip or zstd tar) decoded on a native thread into a bounded queue, with
 * the sha256 of the blob and of the tar computed on the way; and the sha256
 * of a whole file.
 *
 * Ownership: {@linkcode LayerTar} owns its native decoder, freed by
 * `close()`. Reads and file hashes run on a worker thread (`nonblocking`),
 * so the buffer passed to {@linkcode LayerTar.read} must not be touched
 * until its promise settles; C keeps no pointer after that.
 *
 * @module
 */

import { check } from "./errors.ts";
import { Handle } from "./handle.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";
import { u64At, view } from "./struct.ts";

const lib = lazyLibrary({
  layer_tar_open: { parameters: ["buffer", "usize", "buffer"], result: "i32" },
  layer_tar_read: { parameters: ["pointer", "buffer", "usize"], result: "i64", nonblocking: true },
  layer_tar_error: { parameters: ["pointer"], result: "pointer" },
  layer_tar_get_info: { parameters: ["pointer", "buffer"], result: "void" },
  layer_tar_close: { parameters: ["pointer"], result: "void" },
  digest_sha256_file: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "usize"],
    result: "i32",
    nonblocking: true,
  },
});

/** Compression of a layer blob, told by its first bytes. */
export type LayerCompression = "none" | "gzip" | "zstd";

const COMPRESSION: LayerCompression[] = ["none", "gzip", "zstd"];
const INFO_SIZE = 96;

/** Progress of a {@linkcode LayerTar} (`layer_tar_info`). */
export interface LayerTarInfo {
  compression: LayerCompression;
  /** Bytes of the blob file. */
  blobSize: number;
  /** Blob bytes decoded so far. */
  blobBytes: number;
  /** Tar bytes produced so far. */
  tarBytes: number;
  /** `sha256:<hex>` of the blob and of the tar, once the whole blob was decoded. */
  blobDigest?: string;
  tarDigest?: string;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** A layer blob being decoded on a native thread; see `native/src/layer_tar.h`. */
export class LayerTar {
  readonly #handle: Handle;
  readonly path: string;

  private constructor(ptr: Deno.PointerObject, path: string) {
    this.#handle = new Handle(ptr, `layer decoder ${path}`);
    this.path = path;
  }

  /**
   * Opens the blob at `path` and starts decoding it, keeping up to `ahead`
   * decoded bytes queued.
   *
   * @throws {NotFoundError} when the file does not exist
   */
  static open(path: string, ahead = 32 << 20): LayerTar {
    const out = outPointer();
    check(
      lib().layer_tar_open(cString(path), BigInt(ahead), new Uint8Array(out.buffer)),
      `decode ${path}`,
    );
    return new LayerTar(readPointer(out), path);
  }

  /**
   * Copies the next decoded bytes into `buf`; 0 at the end of a blob
   * decoded whole.
   *
   * @throws {CorruptDataError} for damaged or cut compressed data, naming the blob
   */
  async read(buf: Uint8Array<ArrayBuffer>): Promise<number> {
    const ptr = this.#handle.ptr;
    const n = await lib().layer_tar_read(ptr, buf, BigInt(buf.byteLength));
    if (n < 0) {
      const p = lib().layer_tar_error(ptr);
      check(n, `decode ${this.path}`, p === null ? "" : Deno.UnsafePointerView.getCString(p));
    }
    return Number(n);
  }

  /** The progress so far; the digests once the blob was decoded whole. */
  info(): LayerTarInfo {
    const out = new Uint8Array(INFO_SIZE);
    lib().layer_tar_get_info(this.#handle.ptr, out);
    const v = view(out);
    const done = v.getUint32(28, true) === 1;
    return {
      compression: COMPRESSION[v.getUint32(24, true)] ?? "none",
      blobSize: u64At(v, 0),
      blobBytes: u64At(v, 8),
      tarBytes: u64At(v, 16),
      blobDigest: done ? `sha256:${hex(out.subarray(32, 64))}` : undefined,
      tarDigest: done ? `sha256:${hex(out.subarray(64, 96))}` : undefined,
    };
  }

  /** Stops the decoder and frees it; calling it twice is fine. */
  close(): void {
    const p = this.#handle.release();
    if (p !== null) lib().layer_tar_close(p);
  }
}

/**
 * The `sha256:<hex>` digest and size of the file at `path`, hashed on a
 * worker thread.
 *
 * @throws {NotFoundError} when it does not exist
 */
export async function sha256File(path: string): Promise<{ digest: string; size: number }> {
  const digest = new Uint8Array(32);
  const size = new BigUint64Array(1);
  const detail = new Uint8Array(512);
  const name = cString(path);
  const sizeBytes = new Uint8Array(size.buffer);
  const rc = await lib().digest_sha256_file(
    name,
    digest,
    sizeBytes,
    detail,
    BigInt(detail.byteLength),
  );
  // The worker thread used these buffers until now: keep them alive that long.
  void [name, sizeBytes];
  if (rc < 0) {
    const end = detail.indexOf(0);
    check(rc, `hash ${path}`, new TextDecoder().decode(detail.subarray(0, end < 0 ? 512 : end)));
  }
  return { digest: `sha256:${hex(digest)}`, size: Number(size[0]) };
}
