import { UnavailableError } from "../errors.ts";

/** Signals that stop the demo in an orderly way. */
const SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * How long an interrupted step may go on finishing (or failing) before the
 * teardown starts regardless: a step that still runs could otherwise start
 * something after its teardown already ran.
 */
const GRACE_MS = 10_000;

/** Ctrl-C (or SIGTERM, SIGHUP) turned into an abort the demo's steps honour. */
export interface Interrupt {
  /** Aborted, with an {@linkcode UnavailableError} naming the signal, at the first signal. */
  readonly signal: AbortSignal;
  /**
   * Runs one step. When a signal arrives meanwhile, rejects with the abort
   * reason once the step has settled or {@linkcode GRACE_MS} passed.
   */
  run<T>(step: () => Promise<T>): Promise<T>;
  /** Removes the signal listeners; idempotent. */
  close(): void;
}

class SignalInterrupt implements Interrupt {
  #controller = new AbortController();
  #aborted: Promise<never>;
  #listening = true;
  #onSignal: Record<string, () => void> = {};

  constructor(log: (line: string) => void) {
    this.#aborted = new Promise((_, reject) => {
      this.#controller.signal.addEventListener("abort", () => reject(this.signal.reason));
    });
    this.#aborted.catch(() => {/* observed through run() */});
    for (const name of SIGNALS) {
      this.#onSignal[name] = () => {
        // A second Ctrl-C gets Deno's default: exit at once.
        this.close();
        log(`${name}: stopping and tearing everything down (again to quit at once)`);
        this.#controller.abort(new UnavailableError(`the demo was interrupted by ${name}`));
      };
      Deno.addSignalListener(name, this.#onSignal[name]);
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  async run<T>(step: () => Promise<T>): Promise<T> {
    this.signal.throwIfAborted();
    const work = step();
    try {
      return await Promise.race([work, this.#aborted]);
    } catch (err) {
      if (this.signal.aborted) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise((r) => timer = setTimeout(r, GRACE_MS));
        await Promise.race([work.catch(() => {}), grace]);
        clearTimeout(timer);
        throw this.signal.reason;
      }
      throw err;
    }
  }

  close(): void {
    if (!this.#listening) return;
    this.#listening = false;
    for (const name of SIGNALS) Deno.removeSignalListener(name, this.#onSignal[name]);
  }
}

/**
 * Listens for SIGINT, SIGTERM and SIGHUP until `close()`: the first one
 * aborts {@linkcode Interrupt.signal} (logging one line) and restores the
 * default action, so that a second one ends the process at once.
 */
export function openInterrupt(log: (line: string) => void): Interrupt {
  return new SignalInterrupt(log);
}
