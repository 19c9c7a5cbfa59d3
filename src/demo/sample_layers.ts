/**
 * What the demo's sample image holds, layer by layer, written as plain
 * directory trees for a tar of each.
 *
 * @module
 */

import { FailedPreconditionError } from "../errors.ts";
import { digestOf } from "../registry/mod.ts";
import { runTool } from "./run_tool.ts";

/** The line of the image's /etc/os-release that a container of it must print. */
export const OS_RELEASE_LINE = "OVERLAYBD_DEMO=busybox-static";

/** The file of layer 1 that layer 2 deletes with a whiteout. */
export const REMOVED_PATH = "/etc/issue";

/** The large file of layer 2 that nobody reads. */
export const DATA_PATH = "/data/dataset.bin";

/** Where Debian's `busybox-static` puts its (static) binary. */
const BUSYBOX = "/bin/busybox";

/** Deterministic, incompressible bytes (xorshift32), the same on every run. */
function dataset(bytes: number): Uint8Array<ArrayBuffer> {
  const words = new Uint32Array(Math.ceil(bytes / 4));
  let x = 0x2545f491;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, bytes);
}

/**
 * Writes the tree of layer 1 into `root`: busybox with every applet as a
 * symlink in /bin, /etc/os-release with {@linkcode OS_RELEASE_LINE}, and
 * {@linkcode REMOVED_PATH}.
 *
 * @returns the files to check later: absolute path → `sha256:…`
 * @throws {FailedPreconditionError} when busybox-static is not installed
 */
export async function bottomLayer(root: string): Promise<Record<string, string>> {
  for (const d of ["bin", "etc", "dev", "proc", "sys", "root", "tmp"]) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  await Deno.chmod(`${root}/tmp`, 0o1777);
  try {
    await Deno.copyFile(BUSYBOX, `${root}/bin/busybox`);
  } catch (cause) {
    throw new FailedPreconditionError(
      `${BUSYBOX} is missing: install busybox-static (scripts/setup.sh does)`,
      { cause },
    );
  }
  await Deno.chmod(`${root}/bin/busybox`, 0o755);
  const applets = (await runTool(BUSYBOX, ["--list"])).split("\n").filter((a) =>
    /^[\w.[-]+$/.test(a)
  );
  for (const applet of applets) {
    if (applet !== "busybox") await Deno.symlink("busybox", `${root}/bin/${applet}`);
  }
  const osRelease = `NAME="overlaybd demo"\nID=busybox\n${OS_RELEASE_LINE}\n`;
  await Deno.writeTextFile(`${root}/etc/os-release`, osRelease);
  await Deno.writeTextFile(`${root}${REMOVED_PATH}`, "removed by the top layer\n");
  return {
    "/bin/busybox": await digestOf(await Deno.readFile(BUSYBOX)),
    "/etc/os-release": await digestOf(new TextEncoder().encode(osRelease)),
  };
}

/**
 * Writes the tree of layer 2 into `root`: a few files, {@linkcode DATA_PATH}
 * of `dataBytes` incompressible bytes, and the whiteout of
 * {@linkcode REMOVED_PATH}.
 *
 * @returns the files to check later (not the data file): absolute path → `sha256:…`
 */
export async function topLayer(root: string, dataBytes: number): Promise<Record<string, string>> {
  for (const d of ["etc", "usr/share/demo", "data"]) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  const hello = "Hello from a lazily loaded overlaybd image!\n";
  const motd = "overlaybd demo: only the blocks a container reads are fetched.\n".repeat(64);
  await Deno.writeTextFile(`${root}/usr/share/demo/hello.txt`, hello);
  await Deno.writeTextFile(`${root}/etc/motd`, motd);
  const slash = REMOVED_PATH.lastIndexOf("/");
  const whiteout = `${REMOVED_PATH.slice(0, slash)}/.wh.${REMOVED_PATH.slice(slash + 1)}`;
  await Deno.writeFile(`${root}${whiteout}`, new Uint8Array());
  await Deno.writeFile(`${root}${DATA_PATH}`, dataset(dataBytes));
  const text = new TextEncoder();
  return {
    "/usr/share/demo/hello.txt": await digestOf(text.encode(hello)),
    "/etc/motd": await digestOf(text.encode(motd)),
  };
}
