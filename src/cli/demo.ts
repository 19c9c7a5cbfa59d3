import type { Command } from "commander";
import { runDemo } from "../demo/mod.ts";

/** `overlaybd demo`: the end-to-end demo on built-in defaults. */
export function registerDemo(program: Command): void {
  program.command("demo")
    .summary("convert a sample image, serve it, mount it lazily, read it, run it")
    .description(
      "The main job end to end, one line per step with its time:\n" +
        "  1. build a sample OCI image: two gzip layers (busybox-static and /etc/os-release;\n" +
        "     sample files, a 32 MiB data file and a whiteout of /etc/issue)\n" +
        "  2. push it to a local docker-registry and convert it with obdconv\n" +
        "  3. mount the result lazily as 'overlaybd mount' does, check the files' sha256 and the\n" +
        "     whiteout, and print the bytes fetched against the image size (needs root)\n" +
        "  4. run it in a container: 'overlaybd snapshotter', a private containerd using it,\n" +
        "     rpull, then 'ctr run --rm --snapshotter overlaybd IMAGE demo cat /etc/os-release'\n" +
        "     (needs root, containerd and runc; skipped with a reason otherwise)\n" +
        "Registry, containerd, snapshotter, mounts, loop devices and the temporary directory\n" +
        "are torn down at the end, on failure and on Ctrl-C too (twice to quit at once). Exit\n" +
        "status 0 only when every check passed. scripts/setup.sh installs what it needs.",
    )
    .option(
      "--workdir <dir>",
      "work in this new or empty directory and keep it (default: a temporary one)",
    )
    .option("--keep", "keep the temporary directory")
    .action(async (opts) => {
      await runDemo({ workdir: opts.workdir, keep: opts.keep === true });
    });
}
