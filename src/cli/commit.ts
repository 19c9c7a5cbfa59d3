import { type Command, Option } from "commander";
import { commitLayer } from "../layer/mod.ts";
import { InvalidArgumentError } from "../errors.ts";
import { parseAlgorithm, parseBlockSizeKiB, parseUuid } from "./parse.ts";

/** `overlaybd commit`: compact a writable layer into a committed layer blob. */
export function registerCommit(program: Command): void {
  program.command("commit")
    .summary("compact a writable layer into a committed layer")
    .description(
      "Compact the writable layer DATA + INDEX into the read-only layer OUT (spec §2.5), as\n" +
        "overlaybd-commit does. With -z the result is compressed as ZFile; with -t it is also\n" +
        "wrapped in the one-file tar that registries store (use -z -t for a layer blob).",
    )
    .argument("<data>", "writable layer data file")
    .argument("<index>", "writable layer index file")
    .argument("<out>", "committed layer to write")
    .option("-z, --zfile", "compress the result as ZFile")
    .option("-t, --tar", "wrap the result in the one-file tar (needs -z)")
    .option("--algorithm <name>", "ZFile codec: lz4 or zstd", parseAlgorithm, "lz4")
    .addOption(
      new Option("--bs <kib>", "ZFile block size in KiB: 4, 8, 16, 32 or 64").argParser(
        parseBlockSizeKiB,
      ).default(4096, "4"),
    )
    .option("--uuid <uuid>", "UUID of the committed layer (default: null UUID)", parseUuid)
    .option("-p, --parent-uuid <uuid>", "parent UUID (default: the writable layer's)", parseUuid)
    .option("-m, --message <text>", "commit message stored as the user tag (at most 256 bytes)")
    .action((data: string, index: string, out: string, opts) => {
      if (opts.tar && !opts.zfile) {
        throw new InvalidArgumentError(
          "-t wraps a ZFile: add -z (overlaybd commit -z -t DATA INDEX OUT)",
        );
      }
      if (opts.message !== undefined && new TextEncoder().encode(opts.message).length > 256) {
        throw new InvalidArgumentError("the commit message (-m) is longer than 256 bytes");
      }
      const size = commitLayer(data, index, out, {
        zfile: opts.zfile ? { algorithm: opts.algorithm, blockSize: opts.bs } : undefined,
        tar: opts.tar === true,
        uuid: opts.uuid,
        parentUuid: opts.parentUuid,
        userTag: opts.message,
      });
      console.error(`committed ${data} to ${out} (${size} bytes)`);
    });
}
