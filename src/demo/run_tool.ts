import { FailedPreconditionError, UnavailableError } from "../errors.ts";

/**
 * Runs an external program and returns its stdout as text.
 *
 * @throws {FailedPreconditionError} when the program is not installed
 * @throws {UnavailableError} when it exits non-zero (its stderr is in the message)
 */
export async function runTool(cmd: string, args: string[]): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new FailedPreconditionError(`${cmd} is not installed: run scripts/setup.sh`, { cause });
    }
    throw cause;
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new UnavailableError(`${cmd} ${args.join(" ")} failed (exit ${out.code}): ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}
