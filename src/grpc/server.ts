/**
 * The gRPC server: accepts connections on a unix socket (or TCP, for tests)
 * and serves each with {@linkcode Connection}.
 *
 * @module
 */

import { Connection, type ConnectionLimits } from "./connection.ts";
import type { MethodTable } from "./handler.ts";

/** Where to listen and the limits to enforce. */
export interface GrpcServerOptions {
  /** Unix socket path (an existing socket file there is replaced). */
  path?: string;
  /** TCP address instead of `path`; port 0 picks a free port. */
  hostname?: string;
  port?: number;
  /** Concurrent calls per connection (SETTINGS_MAX_CONCURRENT_STREAMS); default 100. */
  maxConcurrentStreams?: number;
  /** Largest request or response message in bytes; default 16 MiB. */
  maxMessageSize?: number;
  /** Largest request header list (RFC 9113 §6.5.2); default 16 KiB. */
  maxHeaderListSize?: number;
  /** Receive window per stream and for the connection; default 1 MiB. */
  initialWindowSize?: number;
  /** How long `close()` waits for calls in flight before cutting them; default 10 s. */
  shutdownTimeoutMs?: number;
}

/** A running server. */
export interface GrpcServer {
  /** The address listened on. */
  readonly addr: Deno.Addr;
  /** Connections currently open. */
  readonly connections: number;
  /**
   * Graceful stop: no new connections, GOAWAY to every client, calls in
   * flight finish (up to `shutdownTimeoutMs`), then sockets close. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts serving `methods`.
 *
 * @example
 * ```ts ignore
 * const server = serveGrpc({ path: "/run/overlaybd/grpc.sock" }, {
 *   "/pkg.Service/Echo": unary((b) => b, (b: Uint8Array) => b, (req) => req),
 * });
 * await server.close();
 * ```
 */
export function serveGrpc(options: GrpcServerOptions, methods: MethodTable): GrpcServer {
  return new Server(options, methods);
}

class Server implements GrpcServer {
  #listener: Deno.Listener;
  #connections = new Set<Connection>();
  #limits: ConnectionLimits;
  #shutdownTimeoutMs: number;
  #accepting: Promise<void>;
  #closing: Promise<void> | null = null;

  constructor(options: GrpcServerOptions, methods: MethodTable) {
    this.#limits = {
      maxConcurrentStreams: options.maxConcurrentStreams ?? 100,
      maxMessageSize: options.maxMessageSize ?? 16 * 1024 * 1024,
      maxHeaderListSize: options.maxHeaderListSize ?? 16 * 1024,
      initialWindowSize: options.initialWindowSize ?? 1024 * 1024,
    };
    this.#shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    if (options.path !== undefined) {
      try {
        Deno.removeSync(options.path);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      this.#listener = Deno.listen({ transport: "unix", path: options.path });
    } else {
      this.#listener = Deno.listen({
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port ?? 0,
      });
    }
    this.#accepting = this.#accept(methods);
  }

  get addr(): Deno.Addr {
    return this.#listener.addr;
  }

  get connections(): number {
    return this.#connections.size;
  }

  async #accept(methods: MethodTable): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      if (conn.remoteAddr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
      const c = new Connection(conn, methods, this.#limits);
      this.#connections.add(c);
      c.serve().finally(() => this.#connections.delete(c));
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    const all = [...this.#connections];
    for (const c of all) c.shutdown();
    const timer = setTimeout(() => all.forEach((c) => c.close()), this.#shutdownTimeoutMs);
    await Promise.all(all.map((c) => c.closed));
    clearTimeout(timer);
    if (this.#listener.addr.transport === "unix") {
      await Deno.remove((this.#listener.addr as Deno.UnixAddr).path).catch(() => {});
    }
  }
}
