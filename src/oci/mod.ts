/**
 * OCI image conventions of overlaybd: layer annotations and snapshot labels
 * (spec §7).
 *
 * @module
 */

export * as labels from "./labels.ts";
export { type OverlaybdLayer, overlaybdLayers } from "./overlaybd_layers.ts";
