/**
 * Why the device tests cannot run here, or undefined when they can: they need
 * root (mount, losetup), /dev/fuse and loop devices.
 *
 * @module
 */

function reason(): string | undefined {
  if (Deno.uid() !== 0) return "not root";
  try {
    Deno.statSync("/dev/fuse");
    Deno.statSync("/dev/loop-control");
  } catch {
    return "no /dev/fuse or /dev/loop-control";
  }
  return undefined;
}

/** The reason to skip, printed once; undefined when the tests can run. */
export const skipReason: string | undefined = reason();
if (skipReason) console.warn(`skipping device tests: ${skipReason}`);

/** `losetup -a` output: one line per attached loop device with its backing file. */
export async function attachedLoops(): Promise<string> {
  const out = await new Deno.Command("losetup", { args: ["-a"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Lines of /proc/mounts that mention `path`. */
export async function mountsUnder(path: string): Promise<string[]> {
  return (await Deno.readTextFile("/proc/mounts")).split("\n").filter((l) => l.includes(path));
}
