import { FailedPreconditionError, UnavailableError } from "../errors.ts";

/** A running local registry. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  stop(): Promise<void>;
}

async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  timeoutMs: number,
): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const until = Date.now() + timeoutMs;
  while (!exited && Date.now() < until) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new UnavailableError(`docker-registry did not listen on 127.0.0.1:${port}`);
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
 * under `dir`, for the demo to push to and mount from.
 *
 * @throws {FailedPreconditionError} when docker-registry is not installed
 */
export async function startLocalRegistry(dir: string): Promise<LocalRegistry> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const config = `${dir}/registry.yml`;
  await Deno.writeTextFile(
    config,
    registryConfigLines(`${dir}/storage`, `127.0.0.1:${port}`).join("\n") + "\n",
  );
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("docker-registry", {
      args: ["serve", config],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch (cause) {
    throw new FailedPreconditionError("docker-registry is not installed: run scripts/setup.sh", {
      cause,
    });
  }
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited already */ }
    await child.status;
  };
  try {
    await waitForPort(port, child, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, stop };
}
