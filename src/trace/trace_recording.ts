import type { TraceRecorder } from "../../ffi/trace.ts";

/** How often the lock file is looked for (spec §8.1: every second). */
export const LOCK_POLL_MS = 1000;

/** Options of {@linkcode startTraceRecording}. */
export interface TraceRecordingOptions {
  /** The trace file (empty when recording starts); `<path>.lock` and `<path>.ok` sit beside it. */
  path: string;
  /** The recorder the device's lower layers were opened with; closed when recording ends. */
  recorder: TraceRecorder;
  log: (line: string) => void;
  /** Lock polling interval; default {@linkcode LOCK_POLL_MS}. */
  pollMs?: number;
  /** Called once recording has ended and the trace is on disk (or failed to get there). */
  onEnd?: () => void;
}

/** A device's trace recording. */
export interface TraceRecording {
  readonly path: string;
  /** `recording`, then `dumped` (trace written, `.ok` created) or `failed`. */
  readonly state: "recording" | "dumped" | "failed";
  /** Records kept so far (all of them once dumped). */
  readonly records: number;
  /** Ends recording (the device closes): dumps the trace; resolves when done. Idempotent. */
  stop(): Promise<void>;
}

class Recording implements TraceRecording {
  readonly path: string;
  state: "recording" | "dumped" | "failed" = "recording";
  #records = 0;
  readonly #options: TraceRecordingOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  #finished?: Promise<void>;

  constructor(options: TraceRecordingOptions) {
    this.path = options.path;
    this.#options = options;
    this.#timer = setInterval(() => this.#poll(), options.pollMs ?? LOCK_POLL_MS);
  }

  get records(): number {
    return this.state === "recording" ? this.#options.recorder.count : this.#records;
  }

  async #poll(): Promise<void> {
    try {
      await Deno.lstat(`${this.path}.lock`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) await this.stop();
    }
  }

  stop(): Promise<void> {
    this.#finished ??= this.#finish();
    return this.#finished;
  }

  /** Spec §8.1 order: trace dumped, lock removed, `.ok` created. */
  async #finish(): Promise<void> {
    clearInterval(this.#timer);
    const { recorder, log, onEnd } = this.#options;
    recorder.stop();
    try {
      const trace = recorder.encode();
      this.#records = recorder.count;
      const dropped = recorder.dropped;
      const tmp = `${this.path}.tmp`;
      await Deno.writeFile(tmp, trace);
      await Deno.rename(tmp, this.path);
      await Deno.remove(`${this.path}.lock`).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
      await Deno.writeFile(`${this.path}.ok`, new Uint8Array());
      this.state = "dumped";
      log(
        `trace ${this.path}: ${this.#records} records written` +
          (dropped ? ` (${dropped} reads past the recorder's bound were not kept)` : ""),
      );
    } catch (err) {
      this.state = "failed";
      log(`trace ${this.path}: writing the trace failed: ${(err as Error).message}`);
    } finally {
      recorder.close();
      onEnd?.();
    }
  }
}

/**
 * Runs the record side of spec §8.1 for a device whose lower layers read
 * through `recorder`: creates `<path>.lock`, and when the lock is deleted
 * (looked for every second) or {@linkcode TraceRecording.stop} is called
 * (the device closes) stops recording, writes the trace to `path`, removes
 * the lock and creates `<path>.ok`.
 *
 * @throws {Deno.errors.NotFound} (or another file system error) when the lock cannot be created
 */
export async function startTraceRecording(options: TraceRecordingOptions): Promise<TraceRecording> {
  await Deno.writeFile(`${options.path}.lock`, new Uint8Array());
  await Deno.remove(`${options.path}.ok`).catch(() => {/* left from an earlier run, or none */});
  options.log(`trace ${options.path}: recording; delete ${options.path}.lock to stop`);
  return new Recording(options);
}
