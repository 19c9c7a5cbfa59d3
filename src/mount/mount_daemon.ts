import { openBlobCache, openRemoteBlobSource } from "../cache/mod.ts";
import { readGlobalConfig } from "../config/mod.ts";
import { openDeviceHost } from "../device/mod.ts";
import { claimSocket } from "../process/mod.ts";
import { DeviceService } from "./device_service.ts";
import {
  type DaemonRequest,
  type DaemonResponse,
  errorResponse,
  lines,
  pidPath,
  socketPath,
} from "./protocol.ts";

/** Options of {@linkcode runMountDaemon}. */
export interface MountDaemonOptions {
  /** Socket, FUSE directory, state files and log live here. */
  runDir: string;
  /** The global config (spec §6); its cache settings are used. */
  configPath?: string;
  /** Overrides of the global config's `cacheConfig` keys (flags beat the file). */
  cache?: { cacheDir?: string; cacheSizeGB?: number };
  /** Log lines go here (default: stderr with a timestamp). */
  log?: (line: string) => void;
}

/**
 * The process behind `overlaybd mount`: owns the blob cache, the fetch
 * bridge, the FUSE session and every mounted device; answers requests on a
 * unix socket in `runDir`. It exits once the last mount is gone, or on
 * SIGTERM/SIGINT after unmounting everything.
 */
export async function runMountDaemon(options: MountDaemonOptions): Promise<void> {
  const log = options.log ??
    ((line: string) => console.error(`${new Date().toISOString()} overlaybd mountd: ${line}`));
  const global = await readGlobalConfig(options.configPath);
  Object.assign(
    global.cacheConfig,
    Object.fromEntries(Object.entries(options.cache ?? {}).filter(([, v]) => v !== undefined)),
  );
  await Deno.mkdir(options.runDir, { recursive: true });
  const sock = socketPath(options.runDir);
  await claimSocket(sock, `a mount daemon already listens on ${sock}`);

  const source = openRemoteBlobSource();
  const cache = openBlobCache(global.cacheConfig);
  const host = await openDeviceHost({ fuseDir: `${options.runDir}/fuse` });
  const service = new DeviceService({ global, host, cache, source, runDir: options.runDir, log });
  const listener = Deno.listen({ transport: "unix", path: sock });
  await Deno.writeTextFile(pidPath(options.runDir), `${Deno.pid}\n`);
  log(`listening on ${sock}, cache ${cache.dir}`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    listener.close();
  };
  const onSignal = () => {
    log("signal: unmounting everything");
    stop();
  };
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  // A stray rejection must not kill the process that serves mounted devices.
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    log(`unexpected error: ${e.reason?.stack ?? e.reason}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);

  const handle = async (req: DaemonRequest): Promise<DaemonResponse> => {
    try {
      if (req.op === "mount") return { ok: true, mount: await service.mount(req) };
      if (req.op === "umount") {
        await service.unmount(req.dir);
        const last = service.list().length === 0;
        if (last) stop();
        return { ok: true, stopping: last };
      }
      return { ok: true, mounts: service.list() };
    } catch (err) {
      log(`${req.op} failed: ${(err as Error).message}`);
      if (req.op === "mount" && service.list().length === 0) stop();
      return errorResponse(err);
    }
  };

  const serveConn = async (conn: Deno.UnixConn) => {
    const writer = conn.writable.getWriter();
    try {
      for await (const line of lines(conn.readable)) {
        const reply = await handle(JSON.parse(line) as DaemonRequest);
        await writer.write(new TextEncoder().encode(JSON.stringify(reply) + "\n"));
      }
    } catch (err) {
      log(`connection: ${(err as Error).message}`);
    } finally {
      writer.releaseLock();
      try {
        conn.close();
      } catch { /* the client's close already released it */ }
    }
  };

  // Connections still answering when the listener closes are awaited, so
  // the last reply (often the umount that stopped us) is delivered.
  const open = new Set<Promise<void>>();
  try {
    for await (const conn of listener) {
      const p = serveConn(conn).finally(() => open.delete(p));
      open.add(p);
    }
  } catch (err) {
    if (!stopping) throw err;
  } finally {
    await Promise.all(open);
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
    globalThis.removeEventListener("unhandledrejection", onRejection);
    await service.close();
    await host.close();
    cache.close();
    await source.close();
    await Deno.remove(sock).catch(() => {});
    log("stopped");
    await Deno.remove(pidPath(options.runDir)).catch(() => {});
  }
}
