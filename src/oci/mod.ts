/**
 * OCI image conventions of overlaybd: layer annotations and snapshot labels
 * (spec §7).
 *
 * @module
 */

export * as labels from "./labels.ts";
export { buildOverlaybdImage, type BuiltImage, type LayerBlob } from "./overlaybd_image.ts";
export { chainIds } from "./chain_id.ts";
export { type OverlaybdLayer, overlaybdLayers } from "./overlaybd_layers.ts";
