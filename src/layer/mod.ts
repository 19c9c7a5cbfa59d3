/**
 * Building, converting and reading overlaybd layer files on the local disk:
 * the upstream tool set (`overlaybd-create`, `overlaybd-commit` and its
 * `--seal`, `overlaybd-zfile`), formatting a new bottom layer as ext4, plus
 * inspection and reading of a merged view.
 *
 * @module
 */

export { createLayer, type CreateLayerOptions } from "./create.ts";
export { commitLayer, type CommitLayerOptions } from "./commit.ts";
export { formatLayer, type FormatLayerOptions } from "./format_layer.ts";
export { sealLayer } from "./seal.ts";
export { compressFile, type CompressOptions, decompressFile, verifyFile } from "./compress.ts";
export { exportView } from "./export_view.ts";
export { importRaw } from "./import_raw.ts";
export { inspectFile, type Inspection } from "./inspect.ts";
export { openOutput, type OutputOptions } from "./output.ts";
export { openView, readView, type ViewOptions } from "./view.ts";
