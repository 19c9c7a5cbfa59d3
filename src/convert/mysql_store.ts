import mysql from "mysql2/promise";
import { UnavailableError } from "../errors.ts";
import type {
  ConversionStore,
  StoreDestination,
  StoredLayer,
  StoredManifest,
} from "./conversion_store.ts";
import { parseMysqlDsn } from "./mysql_dsn.ts";

/** The tables of spec §7.6, as upstream's convertor creates them in MySQL. */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS overlaybd_layers (
     host varchar(255) NOT NULL, repo varchar(255) NOT NULL, chain_id varchar(255) NOT NULL,
     data_digest varchar(255) NOT NULL, data_size bigint NOT NULL,
     PRIMARY KEY (host, repo, chain_id), KEY (host, chain_id))`,
  `CREATE TABLE IF NOT EXISTS overlaybd_manifests (
     host varchar(255) NOT NULL, repo varchar(255) NOT NULL, src_digest varchar(255) NOT NULL,
     out_digest varchar(255) NOT NULL, data_size bigint NOT NULL,
     mediatype varchar(255) NOT NULL,
     PRIMARY KEY (host, repo, src_digest, mediatype), KEY (host, src_digest, mediatype))`,
];

/** Rows of `dst.repo` first, then the other repositories by name. */
const ORDER = "ORDER BY repo <> ?, repo";

type Row = Record<string, unknown>;

/**
 * The dedup tables in a MySQL or MariaDB database shared by several
 * convertors (upstream's schema, so its rows and ours can live side by side
 * — ours carry the output settings in their keys). Owns one connection pool;
 * `close()` ends it.
 */
class MysqlConversionStore implements ConversionStore {
  #pool: mysql.Pool | undefined;
  readonly #where: string;

  constructor(pool: mysql.Pool, where: string) {
    this.#pool = pool;
    this.#where = where;
  }

  async #query(sql: string, values: unknown[]): Promise<Row[]> {
    if (!this.#pool) throw new UnavailableError(`conversion database ${this.#where} is closed`);
    try {
      const [rows] = await this.#pool.query(sql, values);
      return Array.isArray(rows) ? rows as Row[] : [];
    } catch (cause) {
      const msg = cause instanceof Error ? cause.message : String(cause);
      throw new UnavailableError(`conversion database ${this.#where}: ${msg}`, { cause });
    }
  }

  /** Runs a statement that returns nothing (the schema). */
  async exec(sql: string): Promise<void> {
    await this.#query(sql, []);
  }

  async layers(dst: StoreDestination, chainId: string): Promise<StoredLayer[]> {
    const rows = await this.#query(
      `SELECT repo, data_digest, data_size FROM overlaybd_layers
       WHERE host = ? AND chain_id = ? ${ORDER}`,
      [dst.host, chainId, dst.repo],
    );
    return rows.map((r) => ({
      repo: String(r.repo),
      digest: String(r.data_digest),
      size: Number(r.data_size),
    }));
  }

  async putLayer(dst: StoreDestination, chainId: string, blob: { digest: string; size: number }) {
    await this.#query("REPLACE INTO overlaybd_layers VALUES (?, ?, ?, ?, ?)", [
      dst.host,
      dst.repo,
      chainId,
      blob.digest,
      blob.size,
    ]);
  }

  async deleteLayer(dst: StoreDestination, chainId: string) {
    await this.#query(
      "DELETE FROM overlaybd_layers WHERE host = ? AND repo = ? AND chain_id = ?",
      [dst.host, dst.repo, chainId],
    );
  }

  async manifests(
    dst: StoreDestination,
    srcDigest: string,
    mediaType: string,
  ): Promise<StoredManifest[]> {
    const rows = await this.#query(
      `SELECT repo, out_digest, data_size FROM overlaybd_manifests
       WHERE host = ? AND src_digest = ? AND mediatype = ? ${ORDER}`,
      [dst.host, srcDigest, mediaType, dst.repo],
    );
    return rows.map((r) => ({
      repo: String(r.repo),
      digest: String(r.out_digest),
      size: Number(r.data_size),
    }));
  }

  async putManifest(
    dst: StoreDestination,
    srcDigest: string,
    mediaType: string,
    out: { digest: string; size: number },
  ) {
    await this.#query("REPLACE INTO overlaybd_manifests VALUES (?, ?, ?, ?, ?, ?)", [
      dst.host,
      dst.repo,
      srcDigest,
      out.digest,
      out.size,
      mediaType,
    ]);
  }

  async deleteManifest(dst: StoreDestination, srcDigest: string, mediaType: string) {
    await this.#query(
      "DELETE FROM overlaybd_manifests WHERE host = ? AND repo = ? AND src_digest = ? AND mediatype = ?",
      [dst.host, dst.repo, srcDigest, mediaType],
    );
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }
}

/**
 * Connects to the MySQL/MariaDB database `--db-str` names and creates the
 * tables when missing.
 *
 * @throws {InvalidArgumentError} for a malformed connection string
 * @throws {UnavailableError} when the server cannot be reached or refuses
 */
export async function openMysqlStore(dsn: string): Promise<ConversionStore> {
  const d = parseMysqlDsn(dsn);
  const where = `${d.user}@${d.host}:${d.port}/${d.database}`;
  const pool = mysql.createPool({
    host: d.host,
    port: d.port,
    user: d.user,
    password: d.password,
    database: d.database,
    connectionLimit: 2,
    connectTimeout: 10_000,
  });
  const store = new MysqlConversionStore(pool, where);
  try {
    for (const sql of SCHEMA) await store.exec(sql);
    return store;
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}
