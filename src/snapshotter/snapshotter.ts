/**
 * The snapshotter interface containerd drives (its snapshots API), in
 * containerd's vocabulary.
 *
 * @module
 */

/** `active` and `view` snapshots are mounted; `committed` ones are parents. */
export type SnapshotKind = "view" | "active" | "committed";

/** What the store knows of a snapshot. */
export interface SnapshotInfo {
  /** The key of an active or view snapshot, or the name of a committed one. */
  name: string;
  /** Name of the committed parent; "" for none. */
  parent: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  created: Date;
  updated: Date;
}

/** One mount to perform, as containerd's `mount.Mount`. */
export interface MountSpec {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

/** Disk use of a snapshot's own data: bytes of allocated blocks and inodes. */
export interface SnapshotUsage {
  size: number;
  inodes: number;
}

/**
 * A snapshotter: directories (or devices) holding a container filesystem
 * layer by layer.
 *
 * Vocabulary. A snapshot is either *active* (writable, named by a `key`),
 * a *view* (read-only, named by a `key`), or *committed* (immutable, named
 * by a `name`). Keys and names share one namespace. A `parent` is always a
 * committed snapshot; "" means none. Every snapshot has the content of its
 * parent chain plus its own changes.
 *
 * Lifecycle. Unpacking a layer: `prepare(key, parent)` returns the mounts of
 * an active snapshot; the caller mounts them, writes the layer's changes,
 * unmounts, and `commit(name, key)` turns the active snapshot into the
 * committed `name` (the key is gone afterwards). Running a container:
 * `prepare(key, topLayerName)` gives the writable root; `view(key, name)`
 * gives a read-only one. `mounts(key)` returns the mounts of an active or
 * view snapshot again. `remove(key)` deletes a snapshot that no other
 * snapshot has as parent.
 *
 * Worked example (a two-layer image, then a container):
 *
 * ```ts ignore
 * let m = await sn.prepare("extract-1", "", {});   // bind mount of an empty dir
 * // mount m, unpack layer 1 into it, unmount
 * await sn.commit("layer-1", "extract-1", {});
 * m = await sn.prepare("extract-2", "layer-1", {}); // overlay on layer-1
 * // mount, unpack layer 2, unmount
 * await sn.commit("layer-2", "extract-2", {});
 * m = await sn.prepare("container-1", "layer-2", {}); // the container's root
 * ```
 *
 * A *remote* snapshotter may answer `prepare` of an extraction that carries
 * the label `containerd.io/snapshot.ref` (the chain ID to commit to) with
 * {@linkcode AlreadyExistsError} after committing the target itself; the
 * caller then finds the target with `walk` and skips the unpack.
 *
 * Errors: {@linkcode NotFoundError} for a missing key or parent,
 * {@linkcode AlreadyExistsError} for a key or name in use,
 * {@linkcode FailedPreconditionError} for an operation on a snapshot of the
 * wrong kind or state (commit of a non-active, remove of a parent, mounts of
 * a committed snapshot), {@linkcode InvalidArgumentError} for a bad filter,
 * field path, or a parent that is not committed.
 */
export interface Snapshotter {
  /**
   * Creates an active snapshot `key` on `parent` and returns its mounts.
   *
   * @throws {AlreadyExistsError} when `key` exists, or when a remote layer was committed instead
   * @throws {NotFoundError} when `parent` does not exist
   */
  prepare(key: string, parent: string, labels: Record<string, string>): Promise<MountSpec[]>;
  /** Like {@linkcode prepare} but read-only, and never committed. */
  view(key: string, parent: string, labels: Record<string, string>): Promise<MountSpec[]>;
  /**
   * The mounts of the active or view snapshot `key`.
   *
   * @throws {NotFoundError} when `key` does not exist
   * @throws {FailedPreconditionError} when `key` is committed
   */
  mounts(key: string): Promise<MountSpec[]>;
  /**
   * Commits the active snapshot `key` as `name`, with exactly `labels`.
   *
   * @throws {AlreadyExistsError} when `name` exists
   * @throws {NotFoundError} when `key` does not exist
   * @throws {FailedPreconditionError} when `key` is not active
   */
  commit(name: string, key: string, labels: Record<string, string>): Promise<void>;
  /**
   * Removes the snapshot `key` (any kind).
   *
   * @throws {NotFoundError} when `key` does not exist
   * @throws {FailedPreconditionError} when it has children or its device is still in use
   */
  remove(key: string): Promise<void>;
  /** @throws {NotFoundError} when `key` does not exist */
  stat(key: string): Promise<SnapshotInfo>;
  /**
   * Updates the labels of `info.name`: all of them (`fieldpaths` empty or
   * `labels`), or one per `labels.KEY` (an absent or empty value removes it).
   *
   * @throws {NotFoundError} when the snapshot does not exist
   * @throws {InvalidArgumentError} for any other field path
   */
  update(info: Pick<SnapshotInfo, "name" | "labels">, fieldpaths: string[]): Promise<SnapshotInfo>;
  /** Disk use: live for active snapshots, as recorded at commit otherwise. */
  usage(key: string): Promise<SnapshotUsage>;
  /**
   * Every snapshot matching any of `filters` (containerd's filter syntax).
   *
   * @throws {InvalidArgumentError} for a malformed filter
   */
  walk(filters: string[]): AsyncIterable<SnapshotInfo>;
  /** Removes directories (and devices) that no snapshot owns any more. */
  cleanup(): Promise<void>;
  /** Closes the metadata store; idempotent. */
  close(): Promise<void>;
}
