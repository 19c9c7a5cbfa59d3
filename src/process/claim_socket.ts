import { FailedPreconditionError } from "../errors.ts";

/**
 * Makes `path` free for a daemon to listen on: a socket file that nothing
 * answers on any more (its daemon died) is removed, and the directory is
 * created. A live listener is never taken over.
 *
 * @param inUse the error message when a live daemon already listens there
 * @throws {FailedPreconditionError} with `inUse` when something answers on `path`
 */
export async function claimSocket(path: string, inUse: string): Promise<void> {
  try {
    (await Deno.connect({ transport: "unix", path })).close();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
      return;
    }
    if (err instanceof Deno.errors.ConnectionRefused) {
      await Deno.remove(path);
      return;
    }
    throw err;
  }
  throw new FailedPreconditionError(inUse);
}
