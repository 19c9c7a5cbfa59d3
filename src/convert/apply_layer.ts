import type { DeviceConfig } from "../config/mod.ts";
import { applyImage, type ApplyImageOptions, type ApplyStats } from "./apply_image.ts";
import { openConfigImage } from "./open_image.ts";

/** Options of {@linkcode applyLayer}. */
export type ApplyLayerOptions = ApplyImageOptions;

/**
 * Applies the layer tar at `tarPath` (plain, gzip or zstd) onto the image a
 * device config describes, as `overlaybd-apply` does: opens the lowers and
 * the writable upper, then {@linkcode applyImage}, then closes the image.
 * After a failure the writable layer holds a consistent but partly applied
 * filesystem: discard it.
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
    return await applyImage(image, tarPath, options);
  } finally {
    image.close();
  }
}
