import { freePort, spawnDaemon, waitListening } from "../process/mod.ts";

/** A running local registry. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  /** Stops it; idempotent. */
  stop(): Promise<void>;
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
  const port = freePort();
  const config = `${dir}/registry.yml`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    config,
    registryConfigLines(`${dir}/storage`, `127.0.0.1:${port}`).join("\n") + "\n",
  );
  const daemon = await spawnDaemon("docker-registry", ["serve", config], `${dir}/registry.log`);
  try {
    await waitListening(daemon, "docker-registry", { hostname: "127.0.0.1", port }, 10_000);
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, stop: () => daemon.stop() };
}
