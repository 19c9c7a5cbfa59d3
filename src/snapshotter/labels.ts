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
/** On a rootfs Prepare: `dir` or `dev` for a native writable layer, `overlayfs` for none. */
export const WRITABLE = "containerd.io/snapshot/overlaybd.writable";
/** On a rootfs Prepare without parent: virtual size of the new writable layer, GiB. */
export const VSIZE = "containerd.io/snapshot/overlaybd/vsize";
/** Set on the commit of a native writable layer: path of the sealed layer file. */
export const LOCAL_COMMIT_PATH = "containerd.io/snapshot/overlaybd.localcommitpath";
/** On a rootfs Prepare: `yes` records the image's reads into {@linkcode RECORD_TRACE_PATH}. */
export const RECORD_TRACE = "containerd.io/snapshot/overlaybd/record-trace";
/** On a rootfs Prepare: the empty trace file to record into (spec §8.1). */
export const RECORD_TRACE_PATH = "containerd.io/snapshot/overlaybd/record-trace-path";
/** On a pull: `download` fetches the whole blob instead of reading it lazily. */
export const DOWNLOAD_REMOTE_BLOB = "containerd.io/snapshot/overlaybd/download-remote-blob";
