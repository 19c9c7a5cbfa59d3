import type { Command } from "commander";
import { createLayer } from "../layer/mod.ts";
import { parseGiB, parseUuid } from "./parse.ts";

/** `overlaybd create`: a new, empty writable layer. */
export function registerCreate(program: Command): void {
  program.command("create")
    .summary("create an empty writable layer")
    .description(
      "Create an empty writable LSMT layer: a data file and an index log (spec §2.6), or with\n" +
        "--sparse a single sparse data file (spec §2.7). Both files must not exist yet.\n" +
        "VSIZE_GB is the virtual size in GiB; 0 inherits the size of the layers below once stacked.",
    )
    .argument("<data>", "data file to create")
    .argument("<index>", "index file to create (left empty for --sparse)")
    .argument("<vsize_gb>", "virtual size in GiB", parseGiB)
    .option("-s, --sparse", "sparse layer: data stored in place in one sparse file")
    .option("-u, --parent-uuid <uuid>", "UUID of the layer below", parseUuid)
    .option("--uuid <uuid>", "UUID of the new layer (default: random)", parseUuid)
    .action((data: string, index: string, virtualSize: number, opts) => {
      const uuid = createLayer(data, index, {
        virtualSize,
        sparse: opts.sparse === true,
        parentUuid: opts.parentUuid,
        uuid: opts.uuid,
      });
      console.error(`created ${opts.sparse ? "sparse " : ""}writable layer ${data} (uuid ${uuid})`);
    });
}
