/**
 * Layer annotations and snapshot labels of overlaybd images (spec §7.2).
 *
 * @module
 */

/** Digest of the overlaybd blob; its presence marks an overlaybd layer. */
export const BLOB_DIGEST = "containerd.io/snapshot/overlaybd/blob-digest";
/** Decimal size of the overlaybd blob. */
export const BLOB_SIZE = "containerd.io/snapshot/overlaybd/blob-size";
/** Format version: `0.1.0` for native layers. */
export const VERSION = "containerd.io/snapshot/overlaybd/version";
/** Filesystem of the layer (`ext4` when absent); the acceleration layer copies its parent's. */
export const BLOB_FS_TYPE = "containerd.io/snapshot/overlaybd/blob-fs-type";
/** `yes` on the top trace (acceleration) layer. */
export const ACCELERATION_LAYER = "containerd.io/snapshot/overlaybd/acceleration-layer";
/** TurboOCI target digest: a layer this build cannot mount natively. */
export const TURBO_OCI_TARGET = "containerd.io/snapshot/overlaybd/turbo-oci/target-digest";
