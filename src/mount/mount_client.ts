import { UnavailableError } from "../errors.ts";
import {
  type DaemonRequest,
  type DaemonResponse,
  errorFromResponse,
  lines,
  pidPath,
  socketPath,
} from "./protocol.ts";

/** How to start the daemon when none is running. */
export type StartDaemon = () => Promise<void>;

async function connect(runDir: string): Promise<Deno.UnixConn | undefined> {
  try {
    return await Deno.connect({ transport: "unix", path: socketPath(runDir) });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.ConnectionRefused) {
      return undefined;
    }
    throw err;
  }
}

async function connectOrStart(runDir: string, start?: StartDaemon): Promise<Deno.UnixConn> {
  let conn = await connect(runDir);
  if (conn || !start) {
    if (conn) return conn;
    throw new UnavailableError(`no overlaybd mount daemon is running (${socketPath(runDir)})`);
  }
  await start();
  const deadline = Date.now() + 20_000;
  while (!(conn = await connect(runDir))) {
    if (Date.now() > deadline) {
      throw new UnavailableError(
        `the mount daemon did not open ${socketPath(runDir)} within 20 s; see ${runDir}/mountd.log`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return conn;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Waits until the daemon in `runDir` has shut down — its pid file is gone,
 * or its process is — so that everything it owned, the FUSE session
 * included, is released.
 */
export async function waitForDaemonExit(runDir: string, timeoutMs = 20_000): Promise<void> {
  const pidFile = pidPath(runDir);
  const pid = await Deno.readTextFile(pidFile).then((t) => t.trim(), () => "");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await exists(pidFile)) || (pid && !(await exists(`/proc/${pid}`)))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new UnavailableError(
    `the mount daemon did not stop within ${timeoutMs / 1000} s; see ${runDir}/mountd.log`,
  );
}

/**
 * Sends one request to the mount daemon in `runDir` (starting it with
 * `start` when none runs) and returns its answer.
 *
 * @throws the error the daemon reported, of the same kind
 * @throws {UnavailableError} when no daemon answers
 */
export async function callDaemon(
  runDir: string,
  request: DaemonRequest,
  start?: StartDaemon,
): Promise<DaemonResponse & { ok: true }> {
  const conn = await connectOrStart(runDir, start);
  try {
    const writer = conn.writable.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    writer.releaseLock();
    for await (const line of lines(conn.readable)) {
      const reply = JSON.parse(line) as DaemonResponse;
      if (!reply.ok) throw errorFromResponse(reply);
      return reply;
    }
    throw new UnavailableError(`the mount daemon closed the connection without answering`);
  } finally {
    try {
      conn.close();
    } catch { /* already closed by the reader */ }
  }
}
