/** Arguments of every process of the host, by pid (processes that exit meanwhile are skipped). */
export async function processArgs(): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const raw = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      out.set(Number(e.name), raw.split("\0").filter((a) => a));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** SIGKILLs `pid` unless it is gone already. */
export function killPid(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* exited meanwhile */ }
}
