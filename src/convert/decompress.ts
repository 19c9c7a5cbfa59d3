import { type LayerCompression, LayerTar, type LayerTarInfo } from "../../ffi/layer_tar.ts";

export type { LayerCompression, LayerTarInfo };

const READ_CHUNK = 1 << 20;

/**
 * The compression `head` (the first bytes of a file) announces: gzip
 * (`1f 8b`), zstd (`28 b5 2f fd`), else none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(detectCompression(new Uint8Array([0x1f, 0x8b, 8])), "gzip");
 * assert.equal(detectCompression(new TextEncoder().encode("hello")), "none");
 * ```
 */
export function detectCompression(head: Uint8Array): LayerCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

/** A layer blob being decoded: its tar bytes as a stream, progress and digests. */
export interface OpenedLayerTar {
  compression: LayerCompression;
  /** The uncompressed tar, in chunks of up to 1 MiB. */
  stream: ReadableStream<Uint8Array<ArrayBuffer>>;
  /**
   * Blob and tar bytes decoded so far; once the stream has ended, the
   * sha256 digests of the blob and of the tar.
   */
  info(): LayerTarInfo;
  /** Stops decoding (the stream's end, error or cancel do it too). Idempotent. */
  close(): void;
}

/**
 * Opens a layer file — a plain, gzip or zstd tar, told by its magic — and
 * decodes it on a native thread (ISA-L for gzip, libzstd), up to `ahead`
 * bytes in advance of the reader, hashing the blob and the tar on the way.
 * A corrupt or truncated stream fails with a {@linkcode CorruptDataError}
 * naming the file when the damage is reached.
 *
 * @throws {NotFoundError} when the file does not exist
 */
// deno-lint-ignore require-await
export async function openLayerTar(path: string, ahead?: number): Promise<OpenedLayerTar> {
  const tar = LayerTar.open(path, ahead);
  let last: LayerTarInfo | undefined;
  let reading: Promise<unknown> | undefined;
  // The native read runs on a worker thread: free the decoder only after it returns.
  const close = () => {
    if (last) return;
    last = tar.info();
    if (reading) reading.finally(() => tar.close());
    else tar.close();
  };
  const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(ctrl) {
      const buf = new Uint8Array(READ_CHUNK);
      let n: number;
      try {
        const read = tar.read(buf);
        reading = read.catch(() => {});
        n = await read;
      } catch (err) {
        close();
        return ctrl.error(err);
      } finally {
        reading = undefined;
      }
      if (n === 0) {
        close();
        ctrl.close();
      } else {
        ctrl.enqueue(buf.subarray(0, n));
      }
    },
    cancel: close,
  });
  return { compression: tar.info().compression, stream, info: () => last ?? tar.info(), close };
}
