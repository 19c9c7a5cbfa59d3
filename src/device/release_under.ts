import { UnavailableError } from "../errors.ts";
import { readMountTable } from "./mount_table.ts";

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const points = (await readMountTable()).map((m) => m.mountpoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.split("/").length - a.split("/").length);
}

/** Lazily unmounts (`umount -l`) everything at or below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await new Deno.Command("umount", { args: ["-l", point], stdout: "null", stderr: "null" })
      .output();
  }
}

/** The loop devices (`/dev/loopN`) whose backing file lies below `dir`. */
export async function loopsUnder(dir: string): Promise<string[]> {
  const out = await new Deno.Command("losetup", {
    args: ["--list", "--noheadings", "--raw", "-O", "NAME,BACK-FILE"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .map((line) => line.split(" "))
    .filter(([name, back]) => name && back?.startsWith(`${dir}/`))
    .map(([name]) => name);
}

/** Detaches (`losetup -d`) the loop devices whose backing file lies below `dir`. */
export async function detachLoopsUnder(dir: string): Promise<void> {
  for (const name of await loopsUnder(dir)) {
    await new Deno.Command("losetup", { args: ["-d", name], stderr: "null" }).output();
  }
}

/**
 * Releases what a daemon that did not shut down cleanly left below `dir`:
 * unmounts everything there, detaches the loop devices backed by files
 * there, and unmounts once more in case something was mounted meanwhile.
 * Best effort until the final check; may run again.
 *
 * @throws {UnavailableError} when something below `dir` stays mounted
 */
export async function releaseUnder(dir: string): Promise<void> {
  await unmountUnder(dir);
  await detachLoopsUnder(dir);
  await unmountUnder(dir);
  const left = await mountsUnder(dir);
  if (left.length) throw new UnavailableError(`release ${dir}: ${left[0]} stays mounted`);
}
