import { mkfs } from "../../ffi/ext4_apply.ts";
import { Image } from "../../ffi/image.ts";
import { openWritableLayer } from "../../ffi/lsmt.ts";

/** Options of {@linkcode formatLayer}. */
export interface FormatLayerOptions {
  /** Seconds since the epoch for the filesystem's times; default now. */
  timestamp?: number;
}

/**
 * Formats the writable layer `data` + `index`, stacked on nothing, as an
 * empty ext4 filesystem filling its virtual size (spec §7.3 parameters, no
 * journal), in userspace: the bottom layer of a device that has no image
 * below it.
 *
 * @throws {InvalidArgumentError} when the layer's virtual size is below 16 MiB
 * @throws {NotFoundError} when the layer's files do not exist
 */
export function formatLayer(data: string, index: string, options: FormatLayerOptions = {}): void {
  const image = Image.open([], openWritableLayer(data, index));
  try {
    mkfs(image, { timestamp: options.timestamp });
  } finally {
    image.close();
  }
}
