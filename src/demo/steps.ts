import type { Interrupt } from "./interrupt.ts";
import type { Teardown } from "./teardown.ts";

/**
 * Runs one step of the demo and prints its line: the time since the demo
 * began, the step's own time, and what `line` says about the result.
 */
export type Step = <T>(work: () => Promise<T>, line: (result: T) => string) => Promise<T>;

/** What a part of the demo made of several steps runs with. */
export interface DemoSteps {
  step: Step;
  /** Where what a step starts registers how to stop it. */
  teardown: Teardown;
}

/** `[  12.34s +1.20s] text`: time since `t0` and the step's own. */
export function stepLine(t0: number, started: number, now: number, text: string): string {
  const total = ((now - t0) / 1000).toFixed(2).padStart(6);
  const own = ((now - started) / 1000).toFixed(2);
  return `[${total}s +${own}s] ${text}`;
}

/**
 * Steps that stop at Ctrl-C ({@linkcode Interrupt.run}) and print one
 * line each to `log`, timed from `t0`; {@linkcode stepLine} formats it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepLine } from "./steps.ts";
 * assert.equal(stepLine(0, 1000, 3500, "built"), "[  3.50s +2.50s] built");
 * ```
 */
export function stepper(
  log: (line: string) => void,
  interrupt: Interrupt,
  t0 = performance.now(),
): Step {
  return async (work, line) => {
    const started = performance.now();
    const result = await interrupt.run(work);
    log(stepLine(t0, started, performance.now(), line(result)));
    return result;
  };
}

/** Bytes as kB below a megabyte, else MB. */
export function amount(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
