import { InvalidArgumentError, NotFoundError } from "../errors.ts";

/** A JSON object, as parsed. */
export type JsonObject = Record<string, unknown>;

/** Reads field `key` of `obj` as a value of `kind`, or `fallback` when absent; throws naming `where.key`. */
export function field<T>(
  obj: JsonObject,
  key: string,
  kind: "string" | "number" | "boolean",
  fallback: T,
  where: string,
): T {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  const actual: string = typeof v;
  if (actual !== kind) {
    throw new InvalidArgumentError(`${where}.${key} must be a ${kind}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Field `key` as an object ({} when absent). */
export function object(obj: JsonObject, key: string, where: string): JsonObject {
  const v = obj[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new InvalidArgumentError(`${where}.${key} must be an object`);
  }
  return v as JsonObject;
}

/** Parses `text` as a JSON object; `what` names the file in errors. */
export function parseObject(text: string, what: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new InvalidArgumentError(`${what} must hold a JSON object`);
  }
  return v as JsonObject;
}

/** Reads a config file's text; a missing file is a NotFoundError naming it. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`${what} ${path} does not exist`, { cause });
    }
    throw cause;
  }
}
