/**
 * Test helper: what a demo run left on the host below its work directory —
 * mounts, loop devices, processes — so that tests can assert it is nothing.
 *
 * @module
 */

/** Mount points, loop devices (backing files) and process command lines naming `dir`. */
export async function leftoversOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  const mounts = await Deno.readTextFile("/proc/self/mounts");
  for (const line of mounts.split("\n")) {
    const point = line.split(" ")[1];
    if (point?.startsWith(dir)) out.push(`mount ${point}`);
  }
  const loops = await new Deno.Command("losetup", {
    args: ["--list", "--noheadings", "--raw", "-O", "NAME,BACK-FILE"],
    stdout: "piped",
    stderr: "null",
  }).output();
  for (const line of new TextDecoder().decode(loops.stdout).split("\n")) {
    if (line.includes(dir)) out.push(`loop ${line}`);
  }
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    const argv = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (argv.includes(dir)) out.push(`process ${e.name}: ${argv.replaceAll("\0", " ")}`);
  }
  return out;
}
