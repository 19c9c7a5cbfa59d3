import { InvalidArgumentError, UnsupportedError } from "../errors.ts";
import type { ConversionStore } from "./conversion_store.ts";
import { SqliteConversionStore } from "./sqlite_store.ts";

/** Default SQLite file of the dedup tables (`--db-path`). */
export const DEFAULT_DB_PATH = "/var/lib/overlaybd/obdconv.db";

/** `--db-type`, `--db-path`, `--db-str` of `overlaybd obdconv`. */
export interface StoreOptions {
  /** `sqlite` (default) or `mysql`. */
  type?: string;
  /** SQLite file (default {@linkcode DEFAULT_DB_PATH}). */
  path?: string;
  /** Connection string of a database server. */
  dsn?: string;
}

/**
 * Opens the dedup store (spec §7.6): an SQLite file by default.
 *
 * @throws {UnsupportedError} for `mysql`, which this build does not implement
 * @throws {InvalidArgumentError} for an unknown database type
 * @throws {UnavailableError} when the SQLite file cannot be opened
 */
export function openConversionStore(options: StoreOptions = {}): ConversionStore {
  const type = options.type ?? "sqlite";
  if (type === "sqlite") return new SqliteConversionStore(options.path ?? DEFAULT_DB_PATH);
  if (type === "mysql") {
    throw new UnsupportedError(
      "--db-type mysql is not implemented in this build; use the default sqlite (--db-path FILE)",
    );
  }
  throw new InvalidArgumentError(`--db-type '${type}' is not one of sqlite, mysql`);
}
