import { type Command, Option } from "commander";
import { InvalidArgumentError } from "../errors.ts";
import type { ZfileAlgorithm } from "../../ffi/zfile.ts";
import {
  type ConversionStore,
  convertImage,
  DEFAULT_DB_PATH,
  openConversionStore,
  parseLayoutRef,
} from "../convert/mod.ts";
import { parsePlatform } from "../registry/mod.ts";
import { conversionProgress } from "./conversion_progress.ts";
import { parseAlgorithm, parseBlockSizeKiB, parseCount, parseGiB } from "./parse.ts";

/** `overlaybd obdconv` (alias `convert`): an OCI image to an overlaybd image. */
export function registerObdconv(program: Command): void {
  program.command("obdconv")
    .alias("convert")
    .summary("convert an OCI image into an overlaybd image")
    .description(
      "Convert the image SRC into the overlaybd image DST, as upstream's convertor (spec §7.3).\n" +
        "SRC and DST are registry references (tag or digest) or OCI layouts, oci:DIR[:TAG].\n" +
        "Each layer (tar, gzip or zstd) is applied onto an ext4 filesystem in userspace and\n" +
        "committed as a ZFile layer blob; blobs, config and manifest (Docker media types, or\n" +
        "OCI's with --oci or --referrer) are stored at DST, the manifest last, so a failed\n" +
        "conversion stores no image. Each layer's digest and diff_id are checked.\n" +
        "An index converts every platform (attestations skipped) into an OCI index of the\n" +
        "converted manifests, or only the one --platform names.\n" +
        "Layers converted before with the same settings for the same destination registry are\n" +
        "reused (spec §7.6): the table chainID -> converted blob lives in an SQLite file\n" +
        "(--db-path) or a MySQL/MariaDB database shared by convertors (--db-type mysql\n" +
        "--db-str). Progress goes to stderr: one updating line on a terminal, else a line\n" +
        "every 5 s; the digest of the new manifest (or index) to stdout.",
    )
    .argument("<src>", "image to convert: REGISTRY/REPO[:TAG|@DIGEST] or oci:DIR[:TAG]")
    .argument("<dst>", "where the overlaybd image goes: REGISTRY/REPO[:TAG] or oci:DIR[:TAG]")
    .option("--plain", "talk plain HTTP to the registries")
    .option("--insecure", "accept any TLS certificate from the registries")
    .option("-u, --user <user:password>", "registry credentials")
    .option("--platform <os/arch>", "convert only this platform of a multi-arch image")
    .addOption(
      new Option("--vsize <gb>", "virtual size of the image in GiB").argParser(parseGiB).default(
        64 * 2 ** 30,
        "64",
      ),
    )
    .option("--algorithm <lz4|zstd>", "ZFile compression", parseAlgorithm, "lz4")
    .addOption(
      new Option("--bs <kib>", "ZFile block size in KiB (4..64)").argParser(parseBlockSizeKiB)
        .default(4096, "4"),
    )
    .option("--oci", "OCI media types for manifest, config, layers and index (default Docker's)")
    .option(
      "--referrer",
      "make the manifest a referrer of the source manifest (subject; implies --oci)",
    )
    .addOption(
      new Option("--concurrency <n>", "layers fetched and decoded ahead of the one applied")
        .argParser(parseConcurrency).default(2),
    )
    .option("--workdir <dir>", "parent of the temporary directory (removed at the end)")
    .option(
      "--db-type <sqlite|mysql>",
      "dedup database: an SQLite file or a shared MySQL",
      "sqlite",
    )
    .option("--db-path <file>", "SQLite file of the dedup tables", DEFAULT_DB_PATH)
    .option("--db-str <dsn>", "MySQL/MariaDB database: user:password@tcp(host:port)/db")
    .option("--no-dedup", "neither reuse nor record converted layers")
    .action(async (src: string, dst: string, opts: ObdconvFlags) => {
      const start = performance.now();
      // Dedup is per registry: a layout destination has no store.
      const store: ConversionStore | undefined = opts.dedup && !parseLayoutRef(dst)
        ? await openConversionStore({ type: opts.dbType, path: opts.dbPath, dsn: opts.dbStr })
        : undefined;
      try {
        await run(src, dst, opts, store, start);
      } finally {
        await store?.close();
      }
    });
}

/** `--concurrency`: a whole number from 1 to 16. */
function parseConcurrency(text: string): number {
  const n = parseCount(text, "--concurrency");
  if (n < 1 || n > 16) throw new InvalidArgumentError(`--concurrency must be 1..16, got ${n}`);
  return n;
}

/** The parsed flags of `overlaybd obdconv`. */
interface ObdconvFlags {
  plain?: boolean;
  insecure?: boolean;
  user?: string;
  platform?: string;
  vsize: number;
  algorithm: ZfileAlgorithm;
  bs: number;
  oci?: boolean;
  referrer?: boolean;
  concurrency: number;
  workdir?: string;
  dbType: string;
  dbPath: string;
  dbStr?: string;
  dedup: boolean;
}

/** Converts with the parsed options, printing progress to stderr and the digest to stdout. */
async function run(
  src: string,
  dst: string,
  opts: ObdconvFlags,
  store: ConversionStore | undefined,
  start: number,
): Promise<void> {
  const progress = conversionProgress();
  const result = await convertImage(src, dst, {
    store,
    plain: opts.plain === true,
    insecure: opts.insecure === true,
    user: opts.user,
    platform: opts.platform ? parsePlatform(opts.platform) : undefined,
    virtualSize: opts.vsize,
    algorithm: opts.algorithm,
    blockSize: opts.bs,
    workdir: opts.workdir,
    oci: opts.oci === true,
    referrer: opts.referrer === true,
    concurrency: opts.concurrency,
    onProgress: progress.onProgress,
    onLayer: progress.onLayer,
  }).finally(progress.finish);
  const secs = (performance.now() - start) / 1000;
  console.error(
    `converted ${src} to ${dst} in ${secs.toFixed(2)} s: manifest ${result.manifestDigest}, ` +
      `${result.platforms ? `${result.platforms.length} platforms, ` : ""}` +
      `${result.layers.length} layers, ${result.blobsWritten} blobs stored`,
  );
  console.log(result.manifestDigest);
}
