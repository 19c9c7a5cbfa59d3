/** Clean-up actions, run last-registered first. */
export interface Teardown {
  /** Registers `undo`, described as `what` in a failure line. */
  defer(what: string, undo: () => Promise<void> | void): void;
  /**
   * Runs every registered action once, last first, each even when an
   * earlier one failed; idempotent.
   *
   * @returns one line per action that failed
   */
  run(): Promise<string[]>;
}

/**
 * A stack of clean-up actions: whatever the demo starts (a registry, a
 * mount, containerd) registers how to stop it as soon as it exists, so that
 * a failure or Ctrl-C at any point stops exactly what is running.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openTeardown } from "./teardown.ts";
 * const order: string[] = [];
 * const teardown = openTeardown();
 * teardown.defer("first", () => void order.push("first"));
 * teardown.defer("second", () => { throw new Error("boom"); });
 * assert.deepEqual(await teardown.run(), ["second: boom"]);
 * assert.deepEqual(order, ["first"]);
 * ```
 */
export function openTeardown(): Teardown {
  const actions: { what: string; undo: () => Promise<void> | void }[] = [];
  return {
    defer(what, undo) {
      actions.push({ what, undo });
    },
    async run() {
      const failures: string[] = [];
      for (let action = actions.pop(); action; action = actions.pop()) {
        try {
          await action.undo();
        } catch (err) {
          failures.push(`${action.what}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return failures;
    },
  };
}
