import { type Command, Option } from "commander";
import { convertImage } from "../convert/mod.ts";
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
        "An index is resolved to one platform (--platform).",
    )
    .argument("<src>", "image to convert: REGISTRY/REPO[:TAG|@DIGEST] or oci:DIR[:TAG]")
    .argument("<dst>", "where the overlaybd image goes: REGISTRY/REPO[:TAG] or oci:DIR[:TAG]")
    .option("--plain", "talk plain HTTP to the registries")
    .option("--insecure", "accept any TLS certificate from the registries")
    .option("-u, --user <user:password>", "registry credentials")
    .option("--platform <os/arch>", "platform of a multi-arch image (default linux/amd64)")
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
    .action(async (src: string, dst: string, opts) => {
      const start = performance.now();
      const result = await convertImage(src, dst, {
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
          const rate = l.tarBytes / MB / l.seconds;
          console.error(
            `layer ${l.index + 1}/${l.count} ${l.source}: ${amount(l.tarBytes)} of ` +
              `tar in ${l.seconds.toFixed(2)} s (${rate.toFixed(1)} MB/s) -> ${l.blob.digest} ` +
              `(${amount(l.blob.size)})`,
          );
        },
      });
      const secs = (performance.now() - start) / 1000;
      console.error(
        `converted ${src} to ${dst} in ${secs.toFixed(2)} s: manifest ${result.manifestDigest}, ` +
          `${result.layers.length} layers, ${result.blobsWritten} blobs stored`,
      );
      console.log(result.manifestDigest);
    });
}
