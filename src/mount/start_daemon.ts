import type { StartDaemon } from "./mount_client.ts";

/**
 * Starts `overlaybd mountd` detached from this process (its own session,
 * output appended to `<runDir>/mountd.log`), so that the mount outlives the
 * command that asked for it. `extraArgs` are more `mountd` flags.
 */
export function daemonStarter(
  runDir: string,
  configPath?: string,
  extraArgs: string[] = [],
): StartDaemon {
  return async () => {
    await Deno.mkdir(runDir, { recursive: true });
    const main = new URL("../../main.ts", import.meta.url).pathname;
    const args = ["run", "--allow-all", "--quiet", main, "mountd", "--run-dir", runDir];
    if (configPath) args.push("--config", configPath);
    args.push(...extraArgs);
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        'setsid "$@" >>"$OBD_LOG" 2>&1 </dev/null &',
        "overlaybd",
        Deno.execPath(),
        ...args,
      ],
      env: { OBD_LOG: `${runDir}/mountd.log` },
    }).output();
    if (!out.success) {
      throw new Error(`could not start the mount daemon: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
}
