import type { Image } from "../../ffi/image.ts";
import { type Prefetcher, startListPrefetch, startTracePrefetch } from "../../ffi/prefetch.ts";
import type { TraceRecorder } from "../../ffi/trace.ts";
import { CorruptDataError } from "../errors.ts";
import type { PrefetchMode } from "./prefetch_mode.ts";
import { startTraceRecording, type TraceRecording } from "./trace_recording.ts";

/** What a device's prefetch is doing, for `mount` listings and metrics. */
export interface PrefetchStatus {
  mode: "record" | "replay" | "list";
  /** The trace or list file. */
  path: string;
  /** record: `recording`, `dumped`, `failed`; replay and list: `running`, `done`, `stopped`. */
  state: string;
  /** Records recorded, or to replay (list: once the paths are resolved). */
  records: number;
  /** Records read successfully (replay and list). */
  replayed: number;
  /** Bytes those reads returned. */
  bytes: number;
  /** Records (or list paths) that failed. */
  failures: number;
  /** Milliseconds the replay held back for demand reads. */
  yieldMs: number;
}

/** A device's running prefetch, stopped before the device's image closes. */
export interface DevicePrefetch {
  /** Undefined when the device does no prefetch. */
  status(): PrefetchStatus | undefined;
  /** Resolves when a replay has finished or recording has ended (at once when there is none). */
  settled(): Promise<void>;
  /** Stops replay or ends recording (dumping the trace). Idempotent. */
  close(): Promise<void>;
}

/** Options of {@linkcode startDevicePrefetch}. */
export interface DevicePrefetchOptions {
  /** Replay workers (spec §6 `prefetchConfig.concurrency`). */
  concurrency: number;
  /** The recorder the lowers were opened with, in record mode. */
  recorder?: TraceRecorder;
  log: (line: string) => void;
  /** Called once recording ends (background download waits for it, spec §8.1). */
  onRecordingEnd?: () => void;
}

const NONE: DevicePrefetch = {
  status: () => undefined,
  settled: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

function replaying(mode: "replay" | "list", path: string, p: Prefetcher): DevicePrefetch {
  let final: PrefetchStatus | undefined;
  const status = (): PrefetchStatus => {
    if (final) return final;
    const s = p.stats();
    return {
      mode,
      path,
      state: s.done ? "done" : "running",
      records: s.records,
      replayed: s.replayed,
      bytes: s.bytes,
      failures: s.failures,
      yieldMs: s.yieldMs,
    };
  };
  return {
    status,
    settled: () => p.wait(0).then(() => {}),
    async close() {
      if (final) return;
      p.stop();
      await p.wait(0);
      const s = p.stats();
      const complete = s.replayed + s.failures + s.skipped >= s.records;
      final = { ...status(), state: complete ? "done" : "stopped" };
      await p.close();
    },
  };
}

const ZERO = { records: 0, replayed: 0, bytes: 0, failures: 0, yieldMs: 0 };

function recording(r: TraceRecording, ended: Promise<void>): DevicePrefetch {
  return {
    status: () => ({ mode: "record", path: r.path, state: r.state, ...ZERO, records: r.records }),
    settled: () => ended,
    close: () => r.stop(),
  };
}

/**
 * Starts what `mode` asks for on a device that is open and served: trace
 * replay or list prefetch on `image` (spec §8.4, §8.5), or the record
 * lifecycle (§8.1). A trace that fails its checks is skipped with a log
 * line, as upstream does. Close the result before closing the image.
 */
export async function startDevicePrefetch(
  mode: PrefetchMode,
  image: Image,
  options: DevicePrefetchOptions,
): Promise<DevicePrefetch> {
  const { concurrency, log } = options;
  if (mode.kind === "record") {
    if (!options.recorder) throw new TypeError("record mode needs the recorder the layers use");
    let end!: () => void;
    const ended = new Promise<void>((resolve) => end = resolve);
    const r = await startTraceRecording({
      path: mode.path,
      recorder: options.recorder,
      log,
      onEnd: () => {
        end();
        options.onRecordingEnd?.();
      },
    });
    return recording(r, ended);
  }
  if (mode.kind === "replay") {
    try {
      const p = startTracePrefetch(image, mode.trace, concurrency);
      log(`prefetch: replaying ${mode.path} with ${concurrency} workers`);
      return replaying("replay", mode.path, p);
    } catch (err) {
      if (!(err instanceof CorruptDataError)) throw err;
      log(`prefetch: trace ${mode.path} skipped: ${err.message}`);
      return NONE;
    }
  }
  if (mode.kind === "list") {
    const p = startListPrefetch(image, mode.paths, concurrency);
    log(`prefetch: ${mode.paths.length} paths of ${mode.path}`);
    return replaying("list", mode.path, p);
  }
  return NONE;
}
