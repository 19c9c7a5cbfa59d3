/**
 * The metrics HTTP server: {@linkcode metricsApp} served with `Deno.serve` on
 * a TCP port (upstream's `exporterConfig`) or a unix socket.
 *
 * @module
 */

import { UnavailableError } from "../errors.ts";
import { resolveExporterConfig } from "./exporter_config.ts";
import { metricsApp } from "./metrics_app.ts";
import type { SnapshotterMetrics } from "./snapshotter_metrics.ts";

/** Where to serve; `uriPrefix` and `port` are upstream's `exporterConfig` keys. */
export interface MetricsServerOptions {
  /** Path of the metrics page; default `/metrics`. */
  uriPrefix?: string;
  /** TCP port; default 9863, 0 picks a free port. Ignored when `path` is set. */
  port?: number;
  /** Address to listen on; default `0.0.0.0` (every interface, as upstream). */
  hostname?: string;
  /** Unix socket path instead of TCP (an existing socket file there is replaced). */
  path?: string;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The address listened on. */
  readonly addr: Deno.Addr;
  /** Stops listening, lets requests in flight finish, closes connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `metrics` over HTTP (see {@linkcode metricsApp} for the routes).
 * Callers check `exporterConfig.enable` themselves.
 *
 * @param metrics what to expose
 * @param options where to listen
 * @returns the running server
 * @throws {InvalidArgumentError} for a bad `uriPrefix` or `port`
 * @throws {UnavailableError} when the address cannot be listened on (in use, no permission)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSnapshotterMetrics, serveMetrics } from "./mod.ts";
 * const server = serveMetrics(createSnapshotterMetrics(), { hostname: "127.0.0.1", port: 0 });
 * const { port } = server.addr as Deno.NetAddr;
 * const res = await fetch(`http://127.0.0.1:${port}/healthz`);
 * assert.equal(await res.text(), "ok");
 * await server.close();
 * ```
 */
export function serveMetrics(
  metrics: SnapshotterMetrics,
  options: MetricsServerOptions = {},
): MetricsServer {
  const { uriPrefix, port } = resolveExporterConfig({
    uriPrefix: options.uriPrefix,
    port: options.port,
  });
  return new Server(metricsApp(metrics, uriPrefix).fetch, options.path, {
    hostname: options.hostname ?? "0.0.0.0",
    port,
  });
}

class Server implements MetricsServer {
  #server: Deno.HttpServer;
  #closing: Promise<void> | null = null;

  constructor(
    handler: (request: Request) => Response | Promise<Response>,
    path: string | undefined,
    tcp: { hostname: string; port: number },
  ) {
    const where = path ?? `${tcp.hostname}:${tcp.port}`;
    try {
      if (path !== undefined) {
        Deno.removeSync(path);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new UnavailableError(`metrics socket ${path} cannot be replaced`, { cause: err });
      }
    }
    const onListen = () => {};
    try {
      this.#server = path !== undefined
        ? Deno.serve({ path, onListen }, handler)
        : Deno.serve({ ...tcp, onListen }, handler);
    } catch (err) {
      throw new UnavailableError(
        `metrics server cannot listen on ${where}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  get addr(): Deno.Addr {
    return this.#server.addr;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#server.shutdown();
    if (this.#server.addr.transport === "unix") {
      await Deno.remove((this.#server.addr as Deno.UnixAddr).path).catch(() => {});
    }
  }
}
