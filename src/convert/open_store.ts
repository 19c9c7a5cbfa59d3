import { InvalidArgumentError } from "../errors.ts";
import type { ConversionStore } from "./conversion_store.ts";
import { openMysqlStore } from "./mysql_store.ts";
import { SqliteConversionStore } from "./sqlite_store.ts";

/** Default SQLite file of the dedup tables (`--db-path`). */
export const DEFAULT_DB_PATH = "/var/lib/overlaybd/obdconv.db";

/** `--db-type`, `--db-path`, `--db-str` of `overlaybd obdconv`. */
export interface StoreOptions {
  /** `sqlite` (default) or `mysql`. */
  type?: string;
  /** SQLite file (default {@linkcode DEFAULT_DB_PATH}). */
  path?: string;
  /** Connection string of a MySQL/MariaDB server: `user:password@tcp(host:port)/database`. */
  dsn?: string;
}

/**
 * Opens the dedup store (spec §7.6): an SQLite file by default, or the
 * tables in a shared MySQL/MariaDB database (`mysql` with a `dsn`).
 *
 * @throws {InvalidArgumentError} for an unknown database type, or mysql without a valid dsn
 * @throws {UnavailableError} when the file or the server cannot be opened
 */
export async function openConversionStore(options: StoreOptions = {}): Promise<ConversionStore> {
  const type = options.type ?? "sqlite";
  if (type === "sqlite") return new SqliteConversionStore(options.path ?? DEFAULT_DB_PATH);
  if (type === "mysql") {
    if (!options.dsn) {
      throw new InvalidArgumentError(
        "--db-type mysql needs --db-str user:password@tcp(host:port)/db",
      );
    }
    return await openMysqlStore(options.dsn);
  }
  throw new InvalidArgumentError(`--db-type '${type}' is not one of sqlite, mysql`);
}
