/**
 * A gRPC server process for the many-connections test: a Stat-like unary
 * method over an in-memory table (some answers synchronous, some after a
 * short wait, unknown keys NotFound) and `/t.Debug/Stats`, which reports the
 * server's open connections and the handlers it started and finished.
 *
 * Run: deno run -A --v8-flags=--expose-gc tests/grpc/_stat_server.ts SOCKET — prints `ready`, and
 * closes the server and exits when its stdin closes.
 *
 * @module
 */

import { NotFoundError } from "../../src/errors.ts";
import { serveGrpc, unary } from "../../src/grpc/mod.ts";

/** Full name of the Stat-like method. */
export const STAT = "/containerd.services.snapshots.v1.Snapshots/Stat";
/** Full name of the statistics method. */
export const STATS = "/t.Debug/Stats";

/** What `/t.Debug/Stats` answers (JSON). */
export interface ServerStats {
  connections: number;
  started: number;
  finished: number;
  /** V8 heap in use, after a full collection when the process runs with `--expose-gc`. */
  heapUsed: number;
}

/** The reply for key `k`: a protobuf `Info { name = 1 }` inside `StatSnapshotResponse { info = 1 }`. */
export function statReply(key: string): Uint8Array {
  const name = new TextEncoder().encode(key);
  return new Uint8Array([0x0a, name.length + 2, 0x0a, name.length, ...name]);
}

/** Keys the table knows: `k0` … `k9`; odd ones answer after a wait of up to 3 ms. */
const KEYS = new Set(Array.from({ length: 10 }, (_, i) => `k${i}`));

if (import.meta.main) {
  const path = Deno.args[0];
  const stats = { started: 0, finished: 0 };
  const gc = (globalThis as { gc?: () => void }).gc;
  const text = new TextDecoder();
  const server = serveGrpc({ path }, {
    [STAT]: unary((b) => text.decode(b), (b: Uint8Array) => b, async (key, ctx) => {
      stats.started++;
      try {
        if (!KEYS.has(key)) throw new NotFoundError(`snapshot ${key} does not exist`);
        const n = Number(key.slice(1));
        if (n % 2 === 1) await new Promise((resolve) => setTimeout(resolve, n % 4));
        ctx.signal.throwIfAborted();
        return statReply(key);
      } finally {
        stats.finished++;
      }
    }),
    [STATS]: unary(
      (b) => b,
      (s: ServerStats) => new TextEncoder().encode(JSON.stringify(s)),
      () => {
        gc?.();
        const heapUsed = Deno.memoryUsage().heapUsed;
        return { ...stats, connections: server.connections, heapUsed };
      },
    ),
  });
  console.log("ready");
  for await (const _ of Deno.stdin.readable) {
    // runs until the test closes our stdin
  }
  await server.close();
}
