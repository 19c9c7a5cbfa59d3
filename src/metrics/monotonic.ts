/**
 * Turns a sampled total into a counter that never goes down.
 *
 * @module
 */

/**
 * Wraps `read` (a running total sampled at scrape time) so that the values it
 * returns never decrease: when a sample is lower than the one before, the
 * source was reset (an unmount dropped its share, a component was reopened)
 * and counting continues from the last value instead of going backwards,
 * which Prometheus would read as a counter reset.
 *
 * @param read returns the current total
 * @returns a function returning the monotonic total
 *
 * @example A source that restarts from zero
 * ```ts
 * import assert from "node:assert/strict";
 * import { monotonic } from "./monotonic.ts";
 * const samples = [5, 8, 2, 3];
 * const total = monotonic(() => samples.shift()!);
 * assert.deepEqual([total(), total(), total(), total()], [5, 8, 10, 11]);
 * ```
 */
export function monotonic(read: () => number): () => number {
  let base = 0;
  let last = 0;
  return () => {
    const v = read();
    if (v < last) base += last;
    last = v;
    return base + v;
  };
}
