/**
 * Converting OCI layers into overlaybd layers: the streaming tar reader,
 * decompression, whiteout semantics, and applying a layer tar onto the ext4
 * filesystem of an image through the native writer — the core of
 * `overlaybd apply` and of the image convertor (spec §7.3–§7.5).
 *
 * @module
 */

export { applyLayer, type ApplyLayerOptions, type ApplyStats, applyTar } from "./apply_layer.ts";
export { applyEntry } from "./apply_entry.ts";
export { detectCompression, type LayerCompression, openLayerTar } from "./decompress.ts";
export { baseName, cleanEntryPath, joinPath, parentOf } from "./entry_path.ts";
export { openConfigImage } from "./open_image.ts";
export { readTar, type TarEntry, type TarEntryType, type TarEntryWithBody } from "./tar_reader.ts";
export {
  applyWhiteout,
  OPAQUE_MARKER,
  parseWhiteout,
  type Whiteout,
  WHITEOUT_PREFIX,
  type WhiteoutTarget,
} from "./whiteout.ts";
