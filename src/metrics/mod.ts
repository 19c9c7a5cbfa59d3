/**
 * Prometheus metrics of the snapshotter daemon, served over HTTP with hono.
 *
 * Upstream's series keep upstream's names (spec §10.1): `is_alive`,
 * `grpc_error_count{function}`, `grpc_latency_seconds{function}`; ours are
 * prefixed `overlaybd_` (registry bytes fetched, blob cache page hits and
 * misses, device read latency, prefetch hits). Series whose values live
 * elsewhere (the registry client, the native blob cache) are read from
 * callbacks at scrape time.
 *
 * ```ts ignore
 * const metrics = createSnapshotterMetrics({
 *   registryBytesFetched: () => source.stats().bytesFetched,
 *   blobCache: () => cache.stats(),
 * });
 * const grpc = serveGrpc({ path: socket }, instrumentMethods(snapshotsMethods, metrics));
 * const http = config.exporterConfig.enable
 *   ? serveMetrics(metrics, config.exporterConfig)
 *   : null;
 * // ... on shutdown:
 * metrics.setAlive(false);
 * await grpc.close();
 * await http?.close();
 * ```
 *
 * @module
 */

export {
  createSnapshotterMetrics,
  type MetricSources,
  type SnapshotterMetrics,
} from "./snapshotter_metrics.ts";
export { instrumentMethods, methodShortName } from "./instrument_methods.ts";
export {
  DEFAULT_EXPORTER_CONFIG,
  type ExporterConfig,
  resolveExporterConfig,
} from "./exporter_config.ts";
export { metricsApp } from "./metrics_app.ts";
export { type MetricsServer, type MetricsServerOptions, serveMetrics } from "./metrics_server.ts";
export { monotonic } from "./monotonic.ts";
