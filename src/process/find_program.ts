/**
 * The absolute path of the executable `name` on `$PATH`, or undefined when
 * it is not installed there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findProgram } from "./find_program.ts";
 * assert.match(findProgram("sh") ?? "", /\/sh$/);
 * assert.equal(findProgram("overlaybd-no-such-program"), undefined);
 * ```
 */
export function findProgram(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && (info.mode ?? 0) & 0o111) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}
