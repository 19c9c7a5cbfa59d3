import { CommanderError } from "commander";
import {
  AlreadyExistsError,
  CorruptDataError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OverlaybdError,
  UnauthenticatedError,
  UnsupportedError,
} from "../errors.ts";
import { buildProgram } from "./program.ts";

/** What to try next, by kind of error. */
function hint(err: OverlaybdError): string {
  if (err instanceof NotFoundError) return "check the path";
  if (err instanceof AlreadyExistsError) return "remove it first or choose another name";
  if (err instanceof CorruptDataError) {
    return "the file is damaged or not what it should be; 'overlaybd inspect FILE' shows what it is";
  }
  if (err instanceof InvalidArgumentError) return "see --help of the command";
  if (err instanceof UnauthenticatedError) {
    return "check the credentials: --user, ~/.docker/config.json or the credential file";
  }
  if (err instanceof UnsupportedError) {
    return "this file uses a feature overlaybd does not implement";
  }
  if (err instanceof FailedPreconditionError) return "";
  return "";
}

/**
 * Runs the command line `args` and returns the exit status: 0 on success,
 * 1 when the command failed, 2 for a usage error. Failures print one line
 * (plus a hint) to stderr; `OVERLAYBD_DEBUG=1` adds the stack.
 */
export async function run(args: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its own message already.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof OverlaybdError) {
      const h = hint(err);
      console.error(`overlaybd: ${err.message}${h ? ` (${h})` : ""}`);
      if (Deno.env.get("OVERLAYBD_DEBUG")) console.error(err.stack);
      return err instanceof InvalidArgumentError ? 2 : 1;
    }
    throw err;
  }
}
