import { DatabaseSync } from "node:sqlite";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from "../errors.ts";
import type { SnapshotKind, SnapshotUsage } from "./snapshotter.ts";

/** One stored snapshot. */
export interface SnapshotRecord {
  /** Never reused, so a directory named after it belongs to this snapshot only. */
  id: number;
  name: string;
  parentId: number | null;
  /** Name of the parent; "" for none. */
  parent: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  created: Date;
  updated: Date;
  /** Usage recorded at commit (zero before). */
  usage: SnapshotUsage;
  /** Mountpoint of this snapshot's device while it is recorded as attached. */
  device: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES snapshots (id),
  kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
  labels TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  inodes INTEGER NOT NULL DEFAULT 0,
  device TEXT);
CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots (parent_id);
`;

const SELECT = `SELECT s.id, s.name, s.parent_id, p.name AS parent, s.kind, s.labels, s.created,
  s.updated, s.size, s.inodes, s.device FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id`;

type Row = Record<string, unknown>;

function toRecord(r: Row): SnapshotRecord {
  return {
    id: Number(r.id),
    name: String(r.name),
    parentId: r.parent_id === null ? null : Number(r.parent_id),
    parent: r.parent === null ? "" : String(r.parent),
    kind: String(r.kind) as SnapshotKind,
    labels: JSON.parse(String(r.labels)),
    created: new Date(Number(r.created)),
    updated: new Date(Number(r.updated)),
    usage: { size: Number(r.size), inodes: Number(r.inodes) },
    device: r.device === null ? null : String(r.device),
  };
}

/**
 * The metadata of every snapshot in one SQLite file (WAL, one row per
 * snapshot). All methods are synchronous, so a {@linkcode transaction}
 * never interleaves with other work of this process; it commits only when
 * its function returns and rolls back when it throws.
 */
export class MetaStore {
  #db: DatabaseSync | undefined;
  #depth = 0;

  /**
   * Opens (creating) the database at `path`.
   *
   * @throws {UnavailableError} when the file cannot be opened
   */
  constructor(path: string) {
    try {
      this.#db = new DatabaseSync(path);
      this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
      this.#db.exec("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
      this.#db.exec(SCHEMA);
    } catch (cause) {
      this.#db?.close();
      this.#db = undefined;
      throw new UnavailableError(`metadata store ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  get #open(): DatabaseSync {
    if (!this.#db) throw new UnavailableError("metadata store is closed");
    return this.#db;
  }

  /** Runs `fn` in a transaction (joining an enclosing one). */
  transaction<T>(fn: () => T): T {
    const db = this.#open;
    if (this.#depth > 0) return fn();
    db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      const out = fn();
      db.exec("COMMIT");
      return out;
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    } finally {
      this.#depth--;
    }
  }

  /** The snapshot `name`, or undefined. */
  find(name: string): SnapshotRecord | undefined {
    const r = this.#open.prepare(`${SELECT} WHERE s.name = ?`).get(name);
    return r ? toRecord(r as Row) : undefined;
  }

  /**
   * The snapshot `name`.
   *
   * @throws {NotFoundError} when there is none
   */
  get(name: string): SnapshotRecord {
    const r = this.find(name);
    if (!r) throw new NotFoundError(`snapshot ${JSON.stringify(name)} does not exist`);
    return r;
  }

  /** The snapshot with `id`, or undefined. */
  byId(id: number): SnapshotRecord | undefined {
    const r = this.#open.prepare(`${SELECT} WHERE s.id = ?`).get(id);
    return r ? toRecord(r as Row) : undefined;
  }

  /** Every snapshot, in id order. */
  list(): SnapshotRecord[] {
    return this.#open.prepare(`${SELECT} ORDER BY s.id`).all().map((r) => toRecord(r as Row));
  }

  /** Ids of the parent chain of `id`, nearest first (not `id` itself). */
  chain(id: number): number[] {
    const out: number[] = [];
    let cur = this.byId(id)?.parentId ?? null;
    while (cur !== null) {
      out.push(cur);
      cur = this.byId(cur)?.parentId ?? null;
    }
    return out;
  }

  /** How many snapshots have `id` as parent, in all or only of `kinds`. */
  children(id: number, kinds?: SnapshotKind[]): number {
    const all = this.#open.prepare("SELECT kind FROM snapshots WHERE parent_id = ?").all(id);
    return all.filter((r) => !kinds || kinds.includes(String(r.kind) as SnapshotKind)).length;
  }

  /**
   * Adds an active or view snapshot.
   *
   * @throws {NotFoundError} when `parent` does not exist
   * @throws {InvalidArgumentError} when `parent` is not committed, or `key` is empty
   * @throws {AlreadyExistsError} when `key` is taken
   */
  create(
    kind: "active" | "view",
    key: string,
    parent: string,
    labels: Record<string, string>,
  ): SnapshotRecord {
    if (key === "") throw new InvalidArgumentError("snapshot key must not be empty");
    return this.transaction(() => {
      let parentId: number | null = null;
      if (parent !== "") {
        const p = this.find(parent);
        if (!p) throw new NotFoundError(`parent snapshot ${JSON.stringify(parent)} does not exist`);
        if (p.kind !== "committed") {
          throw new InvalidArgumentError(
            `parent ${JSON.stringify(parent)} is not a committed snapshot (it is ${p.kind})`,
          );
        }
        parentId = p.id;
      }
      if (this.find(key)) throw new AlreadyExistsError(`snapshot ${JSON.stringify(key)} exists`);
      const now = Date.now();
      const { lastInsertRowid } = this.#open.prepare(
        "INSERT INTO snapshots (name, parent_id, kind, labels, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(key, parentId, kind, JSON.stringify(labels), now, now);
      return this.byId(Number(lastInsertRowid))!;
    });
  }

  /**
   * Turns the active snapshot `key` into the committed `name`, with exactly
   * `labels` (nothing inherited) and `usage`.
   *
   * @throws {AlreadyExistsError} when `name` is taken
   * @throws {NotFoundError} when `key` does not exist
   * @throws {FailedPreconditionError} when `key` is not active
   */
  commit(
    key: string,
    name: string,
    usage: SnapshotUsage,
    labels: Record<string, string>,
  ): SnapshotRecord {
    return this.transaction(() => {
      if (this.find(name)) {
        throw new AlreadyExistsError(`committed snapshot ${JSON.stringify(name)} exists`);
      }
      const s = this.find(key);
      if (!s) throw new NotFoundError(`active snapshot ${JSON.stringify(key)} does not exist`);
      if (s.kind !== "active") {
        throw new FailedPreconditionError(
          `snapshot ${JSON.stringify(key)} is not active (it is ${s.kind})`,
        );
      }
      const now = Date.now();
      this.#open.prepare(
        `UPDATE snapshots SET name = ?, kind = 'committed', labels = ?, created = ?, updated = ?,
         size = ?, inodes = ? WHERE id = ?`,
      ).run(name, JSON.stringify(labels), now, now, usage.size, usage.inodes, s.id);
      return this.byId(s.id)!;
    });
  }

  /**
   * Deletes the snapshot `key` and returns what it was.
   *
   * @throws {NotFoundError} when `key` does not exist
   * @throws {FailedPreconditionError} when another snapshot has it as parent
   */
  remove(key: string): SnapshotRecord {
    return this.transaction(() => {
      const s = this.get(key);
      const n = this.children(s.id);
      if (n > 0) {
        throw new FailedPreconditionError(
          `cannot remove snapshot ${JSON.stringify(key)}: ${n} snapshot(s) have it as parent`,
        );
      }
      this.#open.prepare("DELETE FROM snapshots WHERE id = ?").run(s.id);
      return s;
    });
  }

  /**
   * Replaces or edits the labels of `name` as containerd's `Update` does.
   *
   * @throws {NotFoundError} when `name` does not exist
   * @throws {InvalidArgumentError} for a field path other than `labels` or `labels.KEY`
   */
  updateLabels(
    name: string,
    labels: Record<string, string>,
    fieldpaths: readonly string[],
  ): SnapshotRecord {
    return this.transaction(() => {
      const s = this.get(name);
      let next: Record<string, string> = { ...s.labels };
      if (fieldpaths.length === 0) next = { ...labels };
      for (const path of fieldpaths) {
        if (path === "labels") {
          next = { ...labels };
        } else if (path.startsWith("labels.")) {
          const key = path.slice("labels.".length);
          if (labels[key]) next[key] = labels[key];
          else delete next[key];
        } else {
          throw new InvalidArgumentError(
            `cannot update field ${JSON.stringify(path)} of snapshot ${JSON.stringify(name)}`,
          );
        }
      }
      for (const [k, v] of Object.entries(next)) if (v === "") delete next[k];
      this.#open.prepare("UPDATE snapshots SET labels = ?, updated = ? WHERE id = ?")
        .run(JSON.stringify(next), Date.now(), s.id);
      return this.byId(s.id)!;
    });
  }

  /** Records the device of snapshot `id` as attached on `mountpoint`, or (null) as detached. */
  setDevice(id: number, mountpoint: string | null): void {
    this.#open.prepare("UPDATE snapshots SET device = ? WHERE id = ?").run(mountpoint, id);
  }

  /** Stores a committed snapshot's usage. */
  setUsage(id: number, usage: SnapshotUsage): void {
    this.#open.prepare("UPDATE snapshots SET size = ?, inodes = ? WHERE id = ?")
      .run(usage.size, usage.inodes, id);
  }

  /** Closes the database; idempotent. */
  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }
}
