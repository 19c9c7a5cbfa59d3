import { InvalidArgumentError } from "../errors.ts";

/** Where a MySQL server is, from a connection string. */
export interface MysqlDsn {
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
}

/**
 * Parses `--db-str`: Go's DSN form that upstream's convertor takes
 * (`user:password@tcp(host:port)/database`, parameters after `?` ignored)
 * or a URL (`mysql://user:password@host:port/database`).
 *
 * @throws {InvalidArgumentError} for anything else
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseMysqlDsn("conv:pw@tcp(127.0.0.1:3306)/overlaybd"), {
 *   user: "conv", password: "pw", host: "127.0.0.1", port: 3306, database: "overlaybd",
 * });
 * ```
 */
export function parseMysqlDsn(dsn: string): MysqlDsn {
  const go = /^([^:@/]*)(?::([^@]*))?@tcp\(([^):]+)(?::(\d+))?\)\/([^?]+)(\?.*)?$/.exec(dsn);
  if (go) {
    return {
      user: go[1],
      password: go[2] ?? "",
      host: go[3],
      port: Number(go[4] ?? 3306),
      database: go[5],
    };
  }
  if (dsn.startsWith("mysql://")) {
    const url = new URL(dsn);
    const database = decodeURIComponent(url.pathname.slice(1));
    if (url.hostname && database) {
      return {
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        host: url.hostname,
        port: Number(url.port || 3306),
        database,
      };
    }
  }
  throw new InvalidArgumentError(
    `--db-str '${dsn.replace(/:[^@:]*@/, ":***@")}' is not user:password@tcp(host:port)/database`,
  );
}
