/**
 * Test helper: Debian's real MariaDB server (`mariadbd`), started by the
 * test on 127.0.0.1 with its data in a temporary directory, for the MySQL
 * dedup store. Grant tables are skipped: any user may connect.
 *
 * @module
 */

import { runTool } from "../../src/demo/run_tool.ts";
import { freePort, waitForPort } from "../registry/_registry.ts";

/** Whether Debian's mariadb-server is installed. */
export async function hasMariadb(): Promise<boolean> {
  try {
    await Deno.stat("/usr/sbin/mariadbd");
    await Deno.stat("/usr/bin/mariadb-install-db");
    return true;
  } catch {
    return false;
  }
}

/** A running server and a connection string to a fresh database in it. */
export interface Mariadb {
  dsn: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts MariaDB with its files under `dir`; `stop()` ends it (also after a failed start). */
export async function startMariadb(dir: string): Promise<Mariadb> {
  const data = `${dir}/mariadb`;
  await runTool("mariadb-install-db", [
    "--no-defaults",
    `--datadir=${data}`,
    "--user=root",
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  await Deno.mkdir(`${data}/overlaybd`); // the database: a directory in MariaDB's data dir
  const port = freePort();
  const child = new Deno.Command("/usr/sbin/mariadbd", {
    args: [
      "--no-defaults",
      `--datadir=${data}`,
      `--socket=${dir}/mariadb.sock`,
      `--pid-file=${dir}/mariadb.pid`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      "--user=root",
      "--skip-grant-tables",
      "--skip-log-bin",
      "--innodb-buffer-pool-size=16M",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
  };
  try {
    await waitForPort(port, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { dsn: `conv:pw@tcp(127.0.0.1:${port})/overlaybd`, port, stop };
}
