import type { Command } from "commander";
import { openView, readView } from "../layer/mod.ts";
import { parseCount, parseWritablePair } from "./parse.ts";

/** `overlaybd cat`: bytes of the merged view of layers, to stdout. */
export function registerCat(program: Command): void {
  program.command("cat")
    .summary("write bytes of the merged view of layers to stdout")
    .description(
      "Stack the committed layer files LAYER... (bottom first; tar-wrapped, ZFile or plain LSMT)\n" +
        "plus an optional writable layer, and write the bytes of the virtual block device to\n" +
        "stdout: by default all of it, else LENGTH bytes from OFFSET.",
    )
    .argument("<layer...>", "committed layer files, bottom first")
    .option("--offset <n>", "first byte", (v) => parseCount(v, "--offset"), 0)
    .option(
      "--length <n>",
      "number of bytes (default: to the end)",
      (v) => parseCount(v, "--length"),
    )
    .option("--upper <data,index>", "writable layer stacked on top", parseWritablePair)
    .action(async (layers: string[], opts) => {
      const image = openView(layers, { upper: opts.upper });
      try {
        await readView(image, opts.offset, opts.length, async (chunk) => {
          let done = 0;
          while (done < chunk.length) done += await Deno.stdout.write(chunk.subarray(done));
        });
      } finally {
        image.close();
      }
    });
}
