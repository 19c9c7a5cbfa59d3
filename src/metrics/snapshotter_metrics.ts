/**
 * The snapshotter's Prometheus metrics: upstream's three series (spec §10.1)
 * and the data plane's own.
 *
 * @module
 */

import { Counter, exponentialBuckets, Gauge, Histogram, Registry } from "prom-client";
import type { CacheStats } from "../cache/mod.ts";
import { monotonic } from "./monotonic.ts";

/** Where the collect-on-scrape series read their values; each is optional. */
export interface MetricSources {
  /** Bytes received from registries since the daemon started (e.g. `RemoteBlobSource.stats().bytesFetched`). */
  registryBytesFetched?: () => number;
  /**
   * Page counters of the blob cache (e.g. `BlobCache.stats()`); `prefetchHits`,
   * when the cache counts them, adds to `overlaybd_prefetch_hits_total`.
   */
  blobCache?: () => Pick<CacheStats, "hits" | "misses"> & { prefetchHits?: number };
}

/**
 * The metrics of one snapshotter daemon, in a registry of their own:
 *
 * | series | type | from |
 * | --- | --- | --- |
 * | `is_alive` | gauge | {@linkcode SnapshotterMetrics.setAlive} (1 from the start) |
 * | `grpc_error_count{function}` | counter | {@linkcode SnapshotterMetrics.observeCall} |
 * | `grpc_latency_seconds{function}` | histogram, 0.0001 × 2^k s, 20 buckets | {@linkcode SnapshotterMetrics.observeCall} |
 * | `overlaybd_registry_bytes_fetched_total` | counter | {@linkcode MetricSources.registryBytesFetched} |
 * | `overlaybd_blob_cache_hits_total`, `…_misses_total` | counter (pages) | {@linkcode MetricSources.blobCache} |
 * | `overlaybd_device_read_latency_seconds` | histogram, 10 µs × 2^k, 24 buckets | {@linkcode SnapshotterMetrics.observeDeviceRead} |
 * | `overlaybd_prefetch_hits_total` | counter | {@linkcode SnapshotterMetrics.countPrefetchHits} and `MetricSources.blobCache().prefetchHits` |
 *
 * `function` is the method's short name (`Prepare`, `Stat`, …), as upstream.
 */
export interface SnapshotterMetrics {
  /** The registry holding every series; more may be registered on it. */
  readonly registry: Registry;
  /** What `is_alive` says; `/healthz` answers 200 while true. */
  readonly alive: boolean;
  setAlive(alive: boolean): void;
  /** Records one gRPC call of method `fn` that took `seconds`; `failed` counts an error. */
  observeCall(fn: string, seconds: number, failed: boolean): void;
  /** Records one device read that took `seconds`. */
  observeDeviceRead(seconds: number): void;
  /** Counts reads served by prefetched data. */
  countPrefetchHits(n?: number): void;
  /** The Prometheus text exposition of every series. */
  render(): Promise<string>;
  /** The content type of {@linkcode render}'s text. */
  readonly contentType: string;
}

/** Upstream's latency buckets: 100 µs doubling up to ~52 s (spec §10.1). */
const GRPC_BUCKETS = exponentialBuckets(0.0001, 2, 20);
/** Cached device reads take tens of microseconds, misses up to seconds. */
const READ_BUCKETS = exponentialBuckets(0.00001, 2, 24);

/** A counter whose value is read from `read` at each scrape. */
function sampledCounter(registry: Registry, name: string, help: string, read: () => number) {
  const total = monotonic(read);
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      // A failing source must not fail the whole scrape: keep the last value.
      let v: number;
      try {
        v = total();
      } catch {
        return;
      }
      this.reset();
      this.inc(v);
    },
  });
}

/**
 * Creates the metrics of one daemon.
 *
 * @param sources callbacks for the series that are read at scrape time
 * @returns the metrics, `is_alive` set to 1
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSnapshotterMetrics } from "./snapshotter_metrics.ts";
 * const metrics = createSnapshotterMetrics({ registryBytesFetched: () => 4096 });
 * metrics.observeCall("Stat", 0.0003, false);
 * const text = await metrics.render();
 * assert.match(text, /grpc_latency_seconds_count\{function="Stat"\} 1/);
 * assert.match(text, /overlaybd_registry_bytes_fetched_total 4096/);
 * ```
 */
export function createSnapshotterMetrics(sources: MetricSources = {}): SnapshotterMetrics {
  const registry = new Registry();
  const isAlive = new Gauge({
    name: "is_alive",
    help: "1 while the snapshotter is serving.",
    registers: [registry],
  });
  const errors = new Counter({
    name: "grpc_error_count",
    help: "Errors returned by the snapshotter's gRPC methods.",
    labelNames: ["function"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "grpc_latency_seconds",
    help: "Latency of the snapshotter's gRPC methods.",
    labelNames: ["function"] as const,
    buckets: GRPC_BUCKETS,
    registers: [registry],
  });
  const readLatency = new Histogram({
    name: "overlaybd_device_read_latency_seconds",
    help: "Latency of reads of overlaybd devices.",
    buckets: READ_BUCKETS,
    registers: [registry],
  });
  const { registryBytesFetched, blobCache } = sources;
  let prefetchHits = 0;
  sampledCounter(
    registry,
    "overlaybd_prefetch_hits_total",
    "Reads served by prefetched data.",
    () => prefetchHits + (blobCache?.().prefetchHits ?? 0),
  );
  if (registryBytesFetched) {
    sampledCounter(
      registry,
      "overlaybd_registry_bytes_fetched_total",
      "Bytes fetched from registries.",
      registryBytesFetched,
    );
  }
  if (blobCache) {
    sampledCounter(
      registry,
      "overlaybd_blob_cache_hits_total",
      "Blob cache pages that reads found present.",
      () => blobCache().hits,
    );
    sampledCounter(
      registry,
      "overlaybd_blob_cache_misses_total",
      "Blob cache pages that reads had to fetch.",
      () => blobCache().misses,
    );
  }
  let alive = true;
  isAlive.set(1);
  return {
    registry,
    get alive() {
      return alive;
    },
    setAlive(value) {
      alive = value;
      isAlive.set(value ? 1 : 0);
    },
    observeCall(fn, seconds, failed) {
      latency.observe({ function: fn }, seconds);
      if (failed) errors.inc({ function: fn });
    },
    observeDeviceRead(seconds) {
      readLatency.observe(seconds);
    },
    countPrefetchHits(n = 1) {
      prefetchHits += n;
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
