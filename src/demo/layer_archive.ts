import { type Descriptor, digestOf, OCI_LAYER_GZIP } from "../registry/mod.ts";
import { runTool } from "./run_tool.ts";

/** A gzip layer blob made from a directory. */
export interface LayerArchive {
  /** Its descriptor in a manifest (OCI gzip layer). */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar: the image config's `diff_id`. */
  diffId: string;
  /** Where the `.tar.gz` file is: the tar path plus `.gz`. */
  path: string;
  /** Bytes of the uncompressed tar. */
  tarBytes: number;
}

/** The modification time of every entry, so a layer's digest is the same on every run. */
const MTIME = "@1700000000";

/**
 * Packs everything in `dir` into `tar` + `.gz` the way image
 * builders do: GNU tar, entries sorted by name, owned by root, one fixed
 * mtime; then `gzip -n`. Paths in the tar are relative (`bin/sh`); a file
 * named `.wh.NAME` is a whiteout of `NAME` (OCI image spec, layer changesets).
 *
 * @throws {FailedPreconditionError} when tar or gzip is missing
 */
export async function archiveLayer(dir: string, tar: string): Promise<LayerArchive> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  await runTool("tar", [
    "--create",
    "--file",
    tar,
    "--format=gnu",
    "--sort=name",
    "--numeric-owner",
    "--owner=0",
    "--group=0",
    `--mtime=${MTIME}`,
    "--directory",
    dir,
    "--",
    ...names.sort(),
  ]);
  // gzip -k works beside the digest of the tar: two cores, half the wait.
  const [tarData] = await Promise.all([
    Deno.readFile(tar),
    runTool("gzip", ["-n", "-k", "-f", tar]),
  ]);
  await Deno.remove(tar);
  const path = `${tar}.gz`;
  const gz = await Deno.readFile(path);
  return {
    descriptor: { mediaType: OCI_LAYER_GZIP, digest: await digestOf(gz), size: gz.length },
    diffId: await digestOf(tarData),
    path,
    tarBytes: tarData.length,
  };
}
