/**
 * Per-method latency and error counts for a gRPC method table, recorded
 * without the server knowing.
 *
 * @module
 */

import type { MethodHandler, MethodTable } from "../grpc/mod.ts";
import type { SnapshotterMetrics } from "./snapshotter_metrics.ts";

/**
 * The short name upstream labels a method with: the part after the last `/`
 * of its full name (`/containerd.services.snapshots.v1.Snapshots/Stat` → `Stat`).
 */
export function methodShortName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf("/") + 1);
}

/**
 * Wraps every handler of `methods` so that each call's latency (from the
 * handler's start until it returns, responses sent included) and each error
 * it throws are recorded under the method's short name. Errors still reach
 * the server unchanged, so clients see the same status.
 *
 * @param methods the table to serve
 * @param metrics where to record
 * @returns a new table with the same methods and kinds
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unary } from "../grpc/mod.ts";
 * import { createSnapshotterMetrics, instrumentMethods } from "./mod.ts";
 * const metrics = createSnapshotterMetrics();
 * const table = instrumentMethods({ "/s.S/Echo": unary((b) => b, (b: Uint8Array) => b, (r) => r) }, metrics);
 * const signal = new AbortController().signal;
 * await table["/s.S/Echo"].call(new Uint8Array(1), { method: "/s.S/Echo", metadata: new Map(), signal }, async () => {});
 * assert.match(await metrics.render(), /grpc_latency_seconds_count\{function="Echo"\} 1/);
 * ```
 */
export function instrumentMethods(
  methods: MethodTable,
  metrics: Pick<SnapshotterMetrics, "observeCall">,
): MethodTable {
  const out: Record<string, MethodHandler> = {};
  for (const [fullName, handler] of Object.entries(methods)) {
    const name = methodShortName(fullName);
    out[fullName] = {
      kind: handler.kind,
      async call(request, ctx, send) {
        const start = performance.now();
        let failed = true;
        try {
          await handler.call(request, ctx, send);
          failed = false;
        } finally {
          metrics.observeCall(name, (performance.now() - start) / 1000, failed);
        }
      },
    };
  }
  return out;
}
