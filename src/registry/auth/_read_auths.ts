import { InvalidArgumentError } from "../../errors.ts";

/**
 * Reads the `auths` object of a Docker-style JSON file, keeping the file's
 * key order. A missing file has no entries.
 *
 * @throws {InvalidArgumentError} when the file is not JSON or `auths` is not an object
 */
export async function readAuths(path: string): Promise<[string, unknown][]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new InvalidArgumentError(`credential file ${path} is not valid JSON`, { cause });
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (auths === undefined) return [];
  if (typeof auths !== "object" || auths === null || Array.isArray(auths)) {
    throw new InvalidArgumentError(`credential file ${path}: "auths" is not an object`);
  }
  return Object.entries(auths);
}
