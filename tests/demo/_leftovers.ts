/**
 * Test helper: what a demo run left on the host below its work directory —
 * mounts, loop devices, processes — so that tests can assert it is nothing.
 *
 * @module
 */

import { loopsUnder, mountsUnder } from "../../src/device/mod.ts";
import { processArgs } from "../../src/process/mod.ts";

/** Mount points, loop devices and process command lines naming `dir`. */
export async function leftoversOf(dir: string): Promise<string[]> {
  const out = (await mountsUnder(dir)).map((point) => `mount ${point}`);
  for (const device of await loopsUnder(dir)) out.push(`loop ${device}`);
  for (const [pid, argv] of await processArgs()) {
    const line = argv.join(" ");
    if (pid !== Deno.pid && line.includes(dir)) out.push(`process ${pid}: ${line}`);
  }
  return out;
}
