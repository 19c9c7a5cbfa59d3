/**
 * Where a snapshotter keeps things under its root (spec §10.2):
 *
 * ```
 * metadata.db                              the metadata store (SQLite)
 * snapshots/<id>/fs/                       overlay upper or lower dir; a layer's files
 * snapshots/<id>/work/                     overlayfs workdir (active snapshots)
 * snapshots/<id>/block/config.v1.json      device config of an overlaybd layer
 * snapshots/<id>/block/init-debug.log      the device's result file
 * snapshots/<id>/block/mountpoint/         the device's filesystem (read-only unless writable)
 * snapshots/<id>/block/writable_data       native writable layer of a container (rwMode dir/dev),
 * snapshots/<id>/block/writable_index        sealed into fs/overlaybd.sealed on commit
 * snapshots/<id>/block/rw_mode             `dir` or `dev`: how that writable layer is mounted
 * snapshots/<id>/image_ref                 image reference the layer came from
 * ```
 *
 * @module
 */

/** The paths of one snapshotter root. */
export class Layout {
  readonly root: string;

  constructor(root: string) {
    this.root = root.replace(/\/+$/, "") || "/";
  }

  get db(): string {
    return `${this.root}/metadata.db`;
  }

  /** Directory of every snapshot's directory. */
  get snapshots(): string {
    return `${this.root}/snapshots`;
  }

  dir(id: number): string {
    return `${this.snapshots}/${id}`;
  }

  fs(id: number): string {
    return `${this.dir(id)}/fs`;
  }

  work(id: number): string {
    return `${this.dir(id)}/work`;
  }

  block(id: number): string {
    return `${this.dir(id)}/block`;
  }

  config(id: number): string {
    return `${this.block(id)}/config.v1.json`;
  }

  resultFile(id: number): string {
    return `${this.block(id)}/init-debug.log`;
  }

  mountpoint(id: number): string {
    return `${this.block(id)}/mountpoint`;
  }

  writableData(id: number): string {
    return `${this.block(id)}/writable_data`;
  }

  writableIndex(id: number): string {
    return `${this.block(id)}/writable_index`;
  }

  rwMode(id: number): string {
    return `${this.block(id)}/rw_mode`;
  }

  /** The layer file a sealed writable layer becomes (spec §10.4 Commit). */
  sealed(id: number): string {
    return `${this.fs(id)}/overlaybd.sealed`;
  }

  imageRef(id: number): string {
    return `${this.dir(id)}/image_ref`;
  }
}

/** Whether `path` exists (any kind of file). */
export function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
