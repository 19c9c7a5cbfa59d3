import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import { UnavailableError } from "../errors.ts";
import type {
  ConversionStore,
  StoreDestination,
  StoredLayer,
  StoredManifest,
} from "./conversion_store.ts";

/** Tables and keys of spec §7.6, in SQLite's dialect. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS overlaybd_layers (
  host TEXT NOT NULL, repo TEXT NOT NULL, chain_id TEXT NOT NULL,
  data_digest TEXT NOT NULL, data_size INTEGER NOT NULL,
  PRIMARY KEY (host, repo, chain_id));
CREATE INDEX IF NOT EXISTS overlaybd_layers_host_chain ON overlaybd_layers (host, chain_id);
CREATE TABLE IF NOT EXISTS overlaybd_manifests (
  host TEXT NOT NULL, repo TEXT NOT NULL, src_digest TEXT NOT NULL,
  out_digest TEXT NOT NULL, data_size INTEGER NOT NULL, mediatype TEXT NOT NULL,
  PRIMARY KEY (host, repo, src_digest, mediatype));
CREATE INDEX IF NOT EXISTS overlaybd_manifests_host_src
  ON overlaybd_manifests (host, src_digest, mediatype);
`;

/** Rows of `dst.repo` first, then the other repositories by name. */
const ORDER = "ORDER BY repo <> ?, repo";

/**
 * The dedup tables in an SQLite file (Deno's built-in `node:sqlite`): zero
 * set-up, the file and its directory made on first use.
 */
export class SqliteConversionStore implements ConversionStore {
  #db: DatabaseSync | undefined;

  /**
   * Opens (creating) the database file `path`.
   *
   * @throws {UnavailableError} when the file cannot be created or opened
   */
  constructor(path: string) {
    try {
      Deno.mkdirSync(dirname(path), { recursive: true });
      this.#db = new DatabaseSync(path);
      this.#db.exec(SCHEMA);
    } catch (err) {
      this.#db?.close();
      throw new UnavailableError(`conversion database ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** node:sqlite is synchronous: its results as the interface's promises. */
  #sync<T>(fn: (db: DatabaseSync) => T): Promise<T> {
    try {
      return Promise.resolve(fn(this.#open));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  get #open(): DatabaseSync {
    if (!this.#db) throw new UnavailableError("conversion database is closed");
    return this.#db;
  }

  layers(dst: StoreDestination, chainId: string): Promise<StoredLayer[]> {
    return this.#sync((db) =>
      db.prepare(
        `SELECT repo, data_digest, data_size FROM overlaybd_layers
         WHERE host = ? AND chain_id = ? ${ORDER}`,
      ).all(dst.host, chainId, dst.repo).map((r) => ({
        repo: String(r.repo),
        digest: String(r.data_digest),
        size: Number(r.data_size),
      }))
    );
  }

  putLayer(
    dst: StoreDestination,
    chainId: string,
    blob: { digest: string; size: number },
  ): Promise<void> {
    return this.#sync((db) => {
      db.prepare("INSERT OR REPLACE INTO overlaybd_layers VALUES (?, ?, ?, ?, ?)")
        .run(dst.host, dst.repo, chainId, blob.digest, blob.size);
    });
  }

  deleteLayer(dst: StoreDestination, chainId: string): Promise<void> {
    return this.#sync((db) => {
      db.prepare("DELETE FROM overlaybd_layers WHERE host = ? AND repo = ? AND chain_id = ?")
        .run(dst.host, dst.repo, chainId);
    });
  }

  manifests(
    dst: StoreDestination,
    srcDigest: string,
    mediaType: string,
  ): Promise<StoredManifest[]> {
    return this.#sync((db) =>
      db.prepare(
        `SELECT repo, out_digest, data_size FROM overlaybd_manifests
         WHERE host = ? AND src_digest = ? AND mediatype = ? ${ORDER}`,
      ).all(dst.host, srcDigest, mediaType, dst.repo).map((r) => ({
        repo: String(r.repo),
        digest: String(r.out_digest),
        size: Number(r.data_size),
      }))
    );
  }

  putManifest(
    dst: StoreDestination,
    srcDigest: string,
    mediaType: string,
    out: { digest: string; size: number },
  ): Promise<void> {
    return this.#sync((db) => {
      db.prepare("INSERT OR REPLACE INTO overlaybd_manifests VALUES (?, ?, ?, ?, ?, ?)")
        .run(dst.host, dst.repo, srcDigest, out.digest, out.size, mediaType);
    });
  }

  deleteManifest(dst: StoreDestination, srcDigest: string, mediaType: string): Promise<void> {
    return this.#sync((db) => {
      db.prepare(
        "DELETE FROM overlaybd_manifests WHERE host = ? AND repo = ? AND src_digest = ? AND mediatype = ?",
      ).run(dst.host, dst.repo, srcDigest, mediaType);
    });
  }

  close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
    return Promise.resolve();
  }
}
