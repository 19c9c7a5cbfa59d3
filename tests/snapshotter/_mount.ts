/**
 * Test helpers: perform a snapshotter's mounts for real (as containerd
 * would, through mount(8)), and undo every mount under a directory.
 *
 * @module
 */

import type { MountSpec } from "../../src/snapshotter/mod.ts";

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Mounts `mounts` on `target`, one on top of the other. */
export async function mountAll(mounts: MountSpec[], target: string): Promise<void> {
  for (const m of mounts) {
    const opts = m.options.join(",");
    if (m.type === "bind") await run("mount", ["-o", opts, m.source, target]);
    else await run("mount", ["-t", m.type, "-o", opts, m.source, target]);
  }
}

/** Unmounts `target`. */
export async function unmountAll(target: string): Promise<void> {
  await run("umount", [target]);
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsBelow(dir: string): Promise<string[]> {
  const table = await Deno.readTextFile("/proc/self/mountinfo");
  return table.split("\n")
    .map((l) =>
      l.split(" ")[4]?.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
    )
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
    .reverse();
}

/** Lazily unmounts everything at or below `dir` (test teardown, even after a failure). */
export async function unmountBelow(dir: string): Promise<void> {
  for (const p of await mountsBelow(dir)) {
    await new Deno.Command("umount", { args: ["-l", p], stdout: "null", stderr: "null" }).output();
  }
}

/** `du` of a directory: allocated bytes and inodes, as containerd counts them. */
export async function du(dir: string): Promise<{ size: number; inodes: number }> {
  const text = async (args: string[]) => {
    const out = await new Deno.Command("du", { args, stdout: "piped" }).output();
    return Number(new TextDecoder().decode(out.stdout).split("\t")[0]);
  };
  return { size: await text(["-s", "-B1", dir]), inodes: await text(["-s", "--inodes", dir]) };
}

/** Whether the process may mount (root). */
export const canMount = Deno.uid() === 0;
