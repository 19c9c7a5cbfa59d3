import { UnavailableError } from "../errors.ts";
import { type DaemonProcess, spawnDaemon } from "./daemon_process.ts";

/** A running local registry. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  /** Stops it; idempotent. */
  stop(): Promise<void>;
}

async function waitForPort(port: number, daemon: DaemonProcess, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (!daemon.exited() && Date.now() < until) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const log = (await daemon.log()).trim().split("\n").at(-1) ?? "";
  throw new UnavailableError(`docker-registry did not listen on 127.0.0.1:${port}: ${log}`);
}

/**
 * The lines of a `docker-registry` config: filesystem storage under
 * `storageDir` (deletes allowed), quiet logs, listening on `addr`. The
 * `http:` section comes last, so callers may append its `tls:` lines and
 * further top-level sections (`auth:`).
 */
export function registryConfigLines(storageDir: string, addr: string): string[] {
  return [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storageDir}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${addr}`,
    "  secret: overlaybd-local-secret",
  ];
}

/**
 * Starts Debian's `docker-registry` on a free loopback port with its storage
 * under `dir` (config and log there too), in a session of its own.
 *
 * @throws {FailedPreconditionError} when docker-registry is not installed
 * @throws {UnavailableError} when it does not listen within 10 s
 */
export async function startLocalRegistry(dir: string): Promise<LocalRegistry> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const config = `${dir}/registry.yml`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    config,
    registryConfigLines(`${dir}/storage`, `127.0.0.1:${port}`).join("\n") + "\n",
  );
  const daemon = await spawnDaemon("docker-registry", ["serve", config], `${dir}/registry.log`);
  try {
    await waitForPort(port, daemon, 10_000);
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, stop: () => daemon.stop() };
}
