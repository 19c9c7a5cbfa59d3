/**
 * `overlaybd`: one program for the whole tool set. See `overlaybd --help`.
 *
 * @module
 */

import { run } from "./src/cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
