import { FailedPreconditionError, UnavailableError } from "../errors.ts";

/**
 * Runs a system tool (`losetup`, `mount`, `umount`) as a subprocess and
 * returns its stdout. A subprocess, not a syscall from this process, so that
 * the JS thread never blocks while the kernel reads through our own FUSE
 * threads.
 *
 * @param what lower-case description of the step, for error messages
 * @throws {FailedPreconditionError} when the tool is not installed
 * @throws {UnavailableError} when it exits non-zero (its stderr is in the message)
 */
export async function runTool(cmd: string, args: string[], what: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new FailedPreconditionError(`${what}: ${cmd} is not installed`, { cause });
    }
    throw cause;
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new UnavailableError(`${what}: ${cmd} ${args.join(" ")} exited ${out.code}: ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}
