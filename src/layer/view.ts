import { Image } from "../../ffi/image.ts";
import { openLayer } from "../../ffi/layer.ts";
import { openWritableLayer, type ReadOnlyLayer, type WritableLayer } from "../../ffi/lsmt.ts";
import { InvalidArgumentError } from "../errors.ts";

/** Options of {@linkcode openView}. */
export interface ViewOptions {
  /** A writable layer stacked on top of the read-only ones. */
  upper?: { data: string; index: string };
}

/**
 * Opens the merged view of committed layer files (bottom first), each
 * tar-wrapped, ZFile or plain LSMT, plus an optional writable layer.
 */
export function openView(layers: string[], options: ViewOptions = {}): Image {
  const lowers: ReadOnlyLayer[] = [];
  let upper: WritableLayer | undefined;
  try {
    for (const path of layers) lowers.push(openLayer(path));
    if (options.upper) upper = openWritableLayer(options.upper.data, options.upper.index);
  } catch (err) {
    for (const l of lowers) l.close();
    throw err;
  }
  return Image.open(lowers, upper);
}

const SECTOR = 512;
const CHUNK = 1 << 20;

/**
 * Streams `length` bytes of `image` from byte `offset` (any alignment) to
 * `write`, in chunks of at most 1 MiB. The range is clipped to the image.
 *
 * @throws {InvalidArgumentError} when offset or length is negative or offset is past the end
 */
export async function readView(
  image: Image,
  offset: number,
  length: number | undefined,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<number> {
  if (offset < 0 || (length !== undefined && length < 0)) {
    throw new InvalidArgumentError(
      `offset and length must not be negative (got ${offset}, ${length})`,
    );
  }
  if (offset > image.size) {
    throw new InvalidArgumentError(
      `offset ${offset} is past the end of the image (${image.size} bytes)`,
    );
  }
  const end = Math.min(image.size, length === undefined ? image.size : offset + length);
  const buf = new Uint8Array(CHUNK);
  let pos = Math.floor(offset / SECTOR) * SECTOR;
  let sent = 0;
  while (pos < end) {
    const want = Math.min(CHUNK, Math.ceil((end - pos) / SECTOR) * SECTOR);
    const got = image.pread(buf.subarray(0, want), pos);
    const from = Math.max(offset, pos) - pos;
    const to = Math.min(end, pos + got) - pos;
    if (to > from) {
      await write(buf.subarray(from, to));
      sent += to - from;
    }
    if (got < want) break;
    pos += got;
  }
  return sent;
}
