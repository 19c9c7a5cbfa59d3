/**
 * Test helper: the sha256 of /hello inside a converted hello-world layer.
 *
 * @module
 */

import { exportView, openView } from "../../src/layer/mod.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { sha256 } from "../_helpers.ts";

/** sha256 of /hello in the ext4 of the committed layer file `blob` (scratch files go to `tmp`). */
export async function helloSha(blob: string, tmp: string): Promise<string> {
  const image = openView([blob]);
  try {
    await exportView(image, `${tmp}/fs.img`);
  } finally {
    image.close();
  }
  await runTool("debugfs", ["-R", `dump /hello ${tmp}/hello`, `${tmp}/fs.img`]);
  return await sha256(await Deno.readFile(`${tmp}/hello`));
}
