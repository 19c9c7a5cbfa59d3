/**
 * Trace-based and list-based prefetch (spec §8): what a container reads
 * while it starts is recorded once, shipped as the image's acceleration
 * layer, and fetched ahead of the container on every later start.
 *
 * - {@linkcode planPrefetch} picks a device's mode from its config (§8.1):
 *   record, replay a trace, prefetch a list of files, or nothing.
 * - {@linkcode startDevicePrefetch} runs that mode on an open device: the
 *   record lifecycle (`<path>.lock` … trace written … `<path>.ok`), or a
 *   native replay behind demand reads (§8.4, §8.5).
 * - {@linkcode buildAccelerationLayer} and {@linkcode appendAccelerationLayer}
 *   pack a trace into an image (§8.6), {@linkcode pushAccelerated} pushes
 *   it, {@linkcode traceOfAccelerationLayer} unpacks it again.
 * - {@linkcode recordContainer} runs a container through containerd and the
 *   overlaybd snapshotter with recording on (`overlaybd record-trace`).
 *
 * The trace file format and the recorder are native (`ffi/trace.ts`); layers
 * that record are opened with {@linkcode openTracedLayer} and
 * {@linkcode openTracedLayerAsync}.
 *
 * @module
 */

export {
  type AccelerationLayer,
  appendAccelerationLayer,
  type AppendOptions,
  buildAccelerationLayer,
  hasAccelerationLayer,
} from "./acceleration_layer.ts";
export { traceOfAccelerationLayer } from "./acceleration_trace.ts";
export { pushAccelerated, type PushedAccelerated, type SourceImage } from "./push_accelerated.ts";
export {
  recordContainer,
  type RecordContainerOptions,
  type RecordedTrace,
} from "./record_container.ts";
export {
  type DevicePrefetch,
  type DevicePrefetchOptions,
  type PrefetchStatus,
  startDevicePrefetch,
} from "./device_prefetch.ts";
export { parsePrefetchList, PREFETCH_LIST_MAX_BYTES } from "./prefetch_list.ts";
export { planPrefetch, type PrefetchMode, type PrefetchPlan } from "./prefetch_mode.ts";
export {
  LOCK_POLL_MS,
  startTraceRecording,
  type TraceRecording,
  type TraceRecordingOptions,
} from "./trace_recording.ts";
export {
  decodeTrace,
  encodeTrace,
  hasTraceMagic,
  openTracedLayer,
  openTracedLayerAsync,
  type TraceRecord,
  TraceRecorder,
} from "../../ffi/trace.ts";
export { type ListRange, type PrefetchStats, resolvePrefetchList } from "../../ffi/prefetch.ts";
