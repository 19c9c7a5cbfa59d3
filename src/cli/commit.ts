import { type Command, Option } from "commander";
import { commitLayer, sealLayer } from "../layer/mod.ts";
import { InvalidArgumentError } from "../errors.ts";
import { parseAlgorithm, parseBlockSizeKiB, parseUuid } from "./parse.ts";

/** `overlaybd commit`: compact a writable layer into a committed layer blob. */
export function registerCommit(program: Command): void {
  program.command("commit")
    .summary("compact a writable layer into a committed layer")
    .description(
      "Compact the writable layer DATA + INDEX into the read-only layer OUT (spec §2.5), as\n" +
        "overlaybd-commit does. With -z the result is compressed as ZFile; with -t it is also\n" +
        "wrapped in the one-file tar that registries store (use -z -t for a layer blob).\n" +
        "With --seal there is no OUT: DATA itself becomes a read-only (sealed) layer, its index\n" +
        "and a trailer appended, no data copied (spec §2.8); INDEX may then be deleted.",
    )
    .argument("<data>", "writable layer data file")
    .argument("<index>", "writable layer index file")
    .argument("[out]", "committed layer to write (not with --seal)")
    .option("--seal", "seal DATA in place instead of writing OUT")
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
    .action((data: string, index: string, out: string | undefined, opts) => {
      if (opts.seal) {
        const extra = out !== undefined || opts.zfile || opts.tar || opts.uuid || opts.parentUuid ||
          opts.message !== undefined;
        if (extra) {
          throw new InvalidArgumentError(
            "--seal takes only DATA and INDEX, no OUT, -z, -t, --uuid, -p or -m",
          );
        }
        const records = sealLayer(data, index);
        console.error(`sealed ${data} (${records} index records); ${index} is no longer needed`);
        return;
      }
      if (out === undefined) {
        throw new InvalidArgumentError(
          "missing OUT (overlaybd commit DATA INDEX OUT), or use --seal",
        );
      }
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
