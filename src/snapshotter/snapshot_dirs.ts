/**
 * Snapshot directories kept in step with the metadata store: the store is
 * the truth, a directory follows its record. A new directory is built under
 * a temporary name and renamed into place inside the transaction that adds
 * the record; a directory without a record is swept by `cleanup`.
 *
 * @module
 */

import { readMountTable, readMountTableSync } from "../device/mod.ts";
import { UnavailableError } from "../errors.ts";
import { existsSync, type Layout } from "./layout.ts";
import type { MetaStore, SnapshotRecord } from "./metastore.ts";

/** A snapshot to create with {@linkcode createSnapshot}. */
export interface NewSnapshot {
  kind: "active" | "view";
  key: string;
  parent: string;
  labels: Record<string, string>;
  /** Make `fs` owned like this directory (containerd: the parent's `fs`). */
  ownerOf?: string;
  /** Adds files to the temporary directory `tmp` once the id is known (synchronous: in the transaction). */
  fill?: (r: SnapshotRecord, tmp: string) => void;
  /** More changes to the store in the same transaction (a commit, say). */
  then?: (r: SnapshotRecord) => void;
}

/**
 * Removes a directory left under an id the store does not know (a crash
 * between renaming it into place and committing its record) so the id can
 * be used; refuses when something is mounted in it.
 */
function removeStaleSync(dir: string): void {
  if (!existsSync(dir)) return;
  const mounted = readMountTableSync()
    .some((m) => m.mountpoint === dir || m.mountpoint.startsWith(`${dir}/`));
  if (mounted) {
    throw new UnavailableError(`stale snapshot directory ${dir} has a mount in it; unmount it`);
  }
  Deno.removeSync(dir, { recursive: true });
}

/**
 * Adds the record of a snapshot and its directory (`fs`, `work` for active
 * snapshots, `block/mountpoint`) together: either both exist afterwards or
 * neither does.
 *
 * @throws what {@linkcode MetaStore.create} and `then` throw
 */
export async function createSnapshot(
  layout: Layout,
  store: MetaStore,
  s: NewSnapshot,
): Promise<SnapshotRecord> {
  const tmp = await Deno.makeTempDir({ dir: layout.snapshots, prefix: "new-" });
  try {
    await Deno.mkdir(`${tmp}/fs`);
    await Deno.chmod(`${tmp}/fs`, 0o755);
    if (s.kind === "active") await Deno.mkdir(`${tmp}/work`, { mode: 0o711 });
    await Deno.mkdir(`${tmp}/block/mountpoint`, { recursive: true });
    const owner = s.ownerOf ? await Deno.stat(s.ownerOf).catch(() => undefined) : undefined;
    if (owner?.uid != null && owner.gid !== null) {
      await Deno.chown(`${tmp}/fs`, owner.uid, owner.gid);
    }
    return store.transaction(() => {
      const r = store.create(s.kind, s.key, s.parent, s.labels);
      const dir = layout.dir(r.id);
      s.fill?.(r, tmp);
      removeStaleSync(dir);
      Deno.renameSync(tmp, dir);
      try {
        s.then?.(r);
      } catch (err) {
        // The rollback frees the id for the next snapshot: its directory goes now, not later.
        Deno.removeSync(dir, { recursive: true });
        throw err;
      }
      return r;
    });
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {/* renamed into place */});
    throw err;
  }
}

/**
 * Removes a directory tree unless a filesystem is mounted in it (a device
 * still attached); failures are logged, not thrown.
 *
 * @returns whether the tree is gone
 */
export async function removeTree(dir: string, log: (line: string) => void): Promise<boolean> {
  const table = await readMountTable();
  if (table.some((m) => m.mountpoint === dir || m.mountpoint.startsWith(`${dir}/`))) {
    log(`not removing ${dir}: something is mounted in it; cleanup will retry`);
    return false;
  }
  try {
    await Deno.remove(dir, { recursive: true });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return true;
    log(`remove ${dir}: ${(err as Error).message}`);
    return false;
  }
}
