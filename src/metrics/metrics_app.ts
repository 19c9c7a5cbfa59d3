/**
 * The metrics HTTP routes, as a hono app independent of how it is served.
 *
 * @module
 */

import { Hono } from "hono";
import type { SnapshotterMetrics } from "./snapshotter_metrics.ts";

/**
 * Routes: `GET uriPrefix` answers the Prometheus text exposition of
 * `metrics`; `GET /healthz` answers 200 `ok` while `metrics.alive`, 503
 * `not alive` otherwise. Anything else is 404.
 *
 * @param metrics the metrics to expose
 * @param uriPrefix path of the metrics page, e.g. `/metrics`
 * @returns the app; serve it with `Deno.serve(app.fetch)` or call `app.request()`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSnapshotterMetrics, metricsApp } from "./mod.ts";
 * const app = metricsApp(createSnapshotterMetrics(), "/metrics");
 * const res = await app.request("/healthz");
 * assert.equal(await res.text(), "ok");
 * ```
 */
export function metricsApp(metrics: SnapshotterMetrics, uriPrefix: string): Hono {
  const app = new Hono();
  app.get(uriPrefix, async (c) => {
    const text = await metrics.render();
    return c.body(text, 200, { "content-type": metrics.contentType });
  });
  app.get("/healthz", (c) => metrics.alive ? c.text("ok") : c.text("not alive", 503));
  return app;
}
