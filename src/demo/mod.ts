/**
 * The demo that `overlaybd demo` and the README's first command run.
 *
 * @module
 */

export { type DemoOptions, runDemo } from "./demo.ts";
