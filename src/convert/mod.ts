/**
 * Converting OCI layers into overlaybd layers: the streaming tar reader,
 * decompression on a native thread (with the blob digest and diff_id
 * checked), whiteout semantics, and applying a layer tar onto the ext4
 * filesystem of an image through the native writer — the core of
 * `overlaybd apply` — and the image convertor built on it, `overlaybd obdconv`
 * ({@linkcode convertImage}): source images from a registry or an OCI layout,
 * layers converted in a pipeline ({@linkcode convertLayers}: decode ahead,
 * apply in order, pack in the background), chainID-derived layer uuids, and
 * the converted image stored in a registry or an OCI layout with Docker or
 * OCI media types (spec §7.1–§7.5), with the dedup tables of spec §7.6
 * ({@linkcode ConversionStore}: SQLite by default, or MySQL/MariaDB) keyed
 * by chainID and output settings; a multi-platform source becomes an index
 * of converted manifests ({@linkcode convertIndex}).
 *
 * @module
 */

export { applyLayer, type ApplyLayerOptions } from "./apply_layer.ts";
export { applyTar, type EntryStats } from "./apply_tar.ts";
export {
  applyImage,
  type ApplyImageOptions,
  type ApplyStats,
  type BlobProgress,
} from "./apply_image.ts";
export { applyEntry } from "./apply_entry.ts";
export {
  detectCompression,
  type LayerCompression,
  type LayerTarInfo,
  type OpenedLayerTar,
  openLayerTar,
} from "./decompress.ts";
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
export {
  type ConvertedLayer,
  convertImage,
  type ConvertOptions,
  type ConvertResult,
  type LayerDone,
} from "./convert_image.ts";
export { type ImageSink, openImageSink } from "./image_sink.ts";
export {
  type EndpointOptions,
  openSourceImage,
  type SourceImage,
  type SourceOptions,
} from "./image_source.ts";
export { layerUuid } from "./layer_uuid.ts";
export { readLayoutBlob, resolveLayoutImage } from "./layout_image.ts";
export { layoutBlobPath, type LayoutRef, parseLayoutRef, REF_NAME } from "./oci_layout.ts";
export type {
  ConversionStore,
  StoreDestination,
  StoredLayer,
  StoredManifest,
} from "./conversion_store.ts";
export { SqliteConversionStore } from "./sqlite_store.ts";
export { openMysqlStore } from "./mysql_store.ts";
export { type MysqlDsn, parseMysqlDsn } from "./mysql_dsn.ts";
export { DEFAULT_DB_PATH, openConversionStore, type StoreOptions } from "./open_store.ts";
export { type DedupTarget, type ReusedLayer, reuseLayer } from "./layer_dedup.ts";
export { convertIndex, type ConvertOne } from "./convert_index.ts";
export { readSourceIndex, type SourceIndex } from "./source_index.ts";
export { type ConvertedLayers, convertLayers, type LayersJob } from "./convert_layers.ts";
export {
  layerKey,
  manifestKey,
  type OutputSettings,
  outputSettings,
  outputSettingsKey,
} from "./dedup_settings.ts";
export { indexMediaType, withDockerTypes } from "./media_types.ts";
