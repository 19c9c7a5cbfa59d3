/**
 * Snapshot labels the snapshotter reads or sets (spec §7.2). The layer
 * annotations that mark an overlaybd layer (`blob-digest`, `blob-size`, …)
 * are in `src/oci/labels.ts`.
 *
 * @module
 */

/** Set by containerd on the Prepare of a pull: the chain ID to commit to. */
export const TARGET_SNAPSHOT_REF = "containerd.io/snapshot.ref";
/** Image reference, set by rpull and the convertor; used to build `repoBlobUrl`. */
export const IMAGE_REF = "containerd.io/snapshot/image-ref";
/** Image reference as the CRI plugin sets it. */
export const CRI_IMAGE_REF = "containerd.io/snapshot/cri.image-ref";
/** Set by the snapshotter on the remote snapshots it commits itself. */
export const REMOTE = "containerd.io/snapshot/remote";
/** Value of {@linkcode REMOTE}. */
export const REMOTE_VALUE = "remote snapshot";
/** On a rootfs Prepare: `dir` or `dev` for a native writable layer. */
export const WRITABLE = "containerd.io/snapshot/overlaybd.writable";
/** On a pull: `download` fetches the whole blob instead of reading it lazily. */
export const DOWNLOAD_REMOTE_BLOB = "containerd.io/snapshot/overlaybd/download-remote-blob";
