import type { Command } from "commander";
import { runDemo } from "../demo/mod.ts";

/** `overlaybd demo`: the end-to-end demo on built-in defaults. */
export function registerDemo(program: Command): void {
  program.command("demo")
    .summary("build a layer from sample files, serve it, mount it lazily, read it")
    .description(
      "Build a 64 MiB ext4 image of sample files, turn it into an overlaybd layer blob\n" +
        "(writable layer → commit → ZFile → tar), read the device back through the layer and\n" +
        "check every byte and a file inside; then push it as an image to a local docker-registry,\n" +
        "mount it with 'overlaybd mount' (blocks fetched on demand) and read the file through the\n" +
        "kernel. Needs e2fsprogs and docker-registry (scripts/setup.sh installs them); the mount\n" +
        "part needs root.",
    )
    .option("--workdir <dir>", "build here and keep the files (default: a temporary directory)")
    .option("--keep", "keep the temporary directory")
    .action(async (opts) => {
      await runDemo({ workdir: opts.workdir, keep: opts.keep === true });
    });
}
