import { type Command, Option } from "commander";
import { compressFile, decompressFile, verifyFile } from "../layer/mod.ts";
import { CorruptDataError, InvalidArgumentError } from "../errors.ts";
import { parseAlgorithm, parseBlockSizeKiB } from "./parse.ts";

/** `overlaybd zfile`: compress, decompress or verify a ZFile. */
export function registerZfile(program: Command): void {
  program.command("zfile")
    .summary("compress, decompress or verify a ZFile")
    .description(
      "Compress IN into the seekable ZFile OUT (spec §1), as overlaybd-zfile does; -t also wraps\n" +
        "it in the one-file tar. With -d, decompress IN (tar-wrapped or not) back to OUT.\n" +
        "With --verify FILE, check every block's CRC and report the first damaged block.",
    )
    .argument("[in]", "input file")
    .argument("[out]", "output file")
    .option("-d, --decompress", "decompress IN into OUT")
    .option("-t, --tar", "wrap the ZFile in the one-file tar")
    .option("--algorithm <name>", "codec: lz4 or zstd", parseAlgorithm, "lz4")
    .addOption(
      new Option("--bs <kib>", "block size in KiB: 4, 8, 16, 32 or 64").argParser(parseBlockSizeKiB)
        .default(4096, "4"),
    )
    .option("--no-crc", "do not store per-block CRCs")
    .option("--verify <file>", "check every block CRC of FILE")
    .action((input: string | undefined, output: string | undefined, opts) => {
      if (opts.verify !== undefined) {
        const { blocks, badBlock } = verifyFile(opts.verify);
        if (badBlock !== null) {
          throw new CorruptDataError(`${opts.verify}: block ${badBlock} of ${blocks} is damaged`);
        }
        console.log(`${opts.verify}: ${blocks} blocks, all intact`);
        return;
      }
      if (input === undefined || output === undefined) {
        throw new InvalidArgumentError(
          "zfile needs IN and OUT (or --verify FILE); see overlaybd zfile --help",
        );
      }
      const size = opts.decompress ? decompressFile(input, output) : compressFile(input, output, {
        // Like overlaybd-zfile, leave the header as first written (0x13): readers use the trailer.
        zfile: {
          algorithm: opts.algorithm,
          blockSize: opts.bs,
          verify: opts.crc,
          overwriteHeader: false,
        },
        tar: opts.tar === true,
      });
      console.error(
        `${opts.decompress ? "decompressed" : "compressed"} ${input} to ${output} (${size} bytes)`,
      );
    });
}
