import { UnavailableError } from "../errors.ts";
import type { DaemonProcess } from "./daemon_process.ts";

/** Where a daemon listens: a TCP port or a unix socket. */
export type ListenAddress = Deno.ConnectOptions | Deno.UnixConnectOptions;

async function accepts(address: ListenAddress): Promise<boolean> {
  try {
    const conn = address.transport === "unix"
      ? await Deno.connect(address)
      : await Deno.connect(address);
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until `address` accepts a connection, polling every 50 ms.
 *
 * @param what lower-case name of the daemon, for the error message
 * @throws {UnavailableError} when `daemon` exits first or `timeoutMs` passes;
 *   the message ends with the last lines of its log
 */
export async function waitListening(
  daemon: DaemonProcess,
  what: string,
  address: ListenAddress,
  timeoutMs: number,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!daemon.exited() && Date.now() < until) {
    if (await accepts(address)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const where = address.transport === "unix"
    ? address.path
    : `${address.hostname ?? "127.0.0.1"}:${address.port}`;
  const why = daemon.exited() ? "exited" : `not within ${timeoutMs} ms`;
  const tail = (await daemon.log()).trim().split("\n").slice(-3).join(" | ");
  throw new UnavailableError(`${what} did not listen on ${where} (${why}): ${tail}`);
}
