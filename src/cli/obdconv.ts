import { type Command, Option } from "commander";
import type { ZfileAlgorithm } from "../../ffi/zfile.ts";
import {
  type ConversionStore,
  convertImage,
  DEFAULT_DB_PATH,
  openConversionStore,
  parseLayoutRef,
} from "../convert/mod.ts";
import { parsePlatform } from "../registry/mod.ts";
import { parseAlgorithm, parseBlockSizeKiB, parseGiB } from "./parse.ts";

const PROGRESS_EVERY_MS = 5000;
const MB = 1e6;

/** Bytes as kB below a megabyte, else MB. */
function amount(bytes: number): string {
  return bytes < MB ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / MB).toFixed(1)} MB`;
}

/** Prints the tar bytes of the current layer and the rate, at most every ~5 s. */
function progressPrinter(): (layer: number, bytes: number) => void {
  let current = -1;
  let start = 0;
  let last = 0;
  return (layer, bytes) => {
    const now = performance.now();
    if (layer !== current) [current, start, last] = [layer, now, now];
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    const rate = bytes / MB / ((now - start) / 1000);
    console.error(
      `layer ${layer + 1}: ${(bytes / MB).toFixed(0)} MB of tar, ${rate.toFixed(1)} MB/s`,
    );
  };
}

/** `overlaybd obdconv` (alias `convert`): an OCI image to an overlaybd image. */
export function registerObdconv(program: Command): void {
  program.command("obdconv")
    .alias("convert")
    .summary("convert an OCI image into an overlaybd image")
    .description(
      "Convert the image SRC into the overlaybd image DST, as upstream's convertor (spec §7.3).\n" +
        "SRC and DST are registry references (tag or digest) or OCI layouts, oci:DIR[:TAG].\n" +
        "Each layer (tar, gzip or zstd) is applied onto an ext4 filesystem in userspace and\n" +
        "committed as a ZFile layer blob; blobs, config and manifest (OCI media types) are\n" +
        "stored at DST, the manifest last, so a failed conversion stores no image.\n" +
        "An index converts every platform (attestations skipped) into an OCI index of the\n" +
        "converted manifests, or only the one --platform names.\n" +
        "Layers converted before for the same destination registry are reused (spec §7.6):\n" +
        "the table chainID -> converted blob lives in an SQLite file (--db-path).",
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
    .option("--referrer", "make the manifest a referrer of the source manifest (subject)")
    .option("--workdir <dir>", "parent of the temporary directory (removed at the end)")
    .option("--db-type <sqlite|mysql>", "dedup database (mysql is not implemented)", "sqlite")
    .option("--db-path <file>", "SQLite file of the dedup tables", DEFAULT_DB_PATH)
    .option("--db-str <dsn>", "connection string of a mysql dedup database")
    .option("--no-dedup", "neither reuse nor record converted layers")
    .action(async (src: string, dst: string, opts: ObdconvFlags) => {
      const start = performance.now();
      // Dedup is per registry: a layout destination has no store.
      const store: ConversionStore | undefined = opts.dedup && !parseLayoutRef(dst)
        ? openConversionStore({ type: opts.dbType, path: opts.dbPath, dsn: opts.dbStr })
        : undefined;
      try {
        await run(src, dst, opts, store, start);
      } finally {
        store?.close();
      }
    });
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
  referrer?: boolean;
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
    referrer: opts.referrer === true,
    onProgress: progressPrinter(),
    onLayer: (l) => {
      const where = `${l.platform ? `${l.platform} ` : ""}layer ${l.index + 1}/${l.count}`;
      if (l.reused) {
        console.error(
          `${where} ${l.source}: reused ${l.blob.digest} ` +
            `(${amount(l.blob.size)})`,
        );
        return;
      }
      const rate = l.tarBytes / MB / l.seconds;
      console.error(
        `${where} ${l.source}: ${amount(l.tarBytes)} of ` +
          `tar in ${l.seconds.toFixed(2)} s (${rate.toFixed(1)} MB/s) -> ${l.blob.digest} ` +
          `(${amount(l.blob.size)})`,
      );
    },
  });
  const secs = (performance.now() - start) / 1000;
  console.error(
    `converted ${src} to ${dst} in ${secs.toFixed(2)} s: manifest ${result.manifestDigest}, ` +
      `${result.platforms ? `${result.platforms.length} platforms, ` : ""}` +
      `${result.layers.length} layers, ${result.blobsWritten} blobs stored`,
  );
  console.log(result.manifestDigest);
}
