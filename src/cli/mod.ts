/**
 * The `overlaybd` command line: one subcommand per tool, each registered from
 * its own file; {@linkcode run} turns errors into one line and an exit status.
 *
 * @module
 */

export { run } from "./run.ts";
export { buildProgram, VERSION } from "./program.ts";
