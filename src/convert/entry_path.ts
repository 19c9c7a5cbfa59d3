import { InvalidArgumentError } from "../errors.ts";

/**
 * The absolute path inside the filesystem of a tar entry name: `./a//b/`
 * becomes `/a/b`, the root entry (`./`, `/`) becomes `/`, and `.` parts are
 * dropped. A `..` that would climb above the root is refused rather than
 * clamped, so a hostile layer cannot aim an entry somewhere it did not name.
 *
 * @example Cleaning a tar name
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(cleanEntryPath("./usr//lib/../bin/"), "/usr/bin");
 * ```
 *
 * @throws {InvalidArgumentError} when the name escapes the root or holds a NUL
 */
export function cleanEntryPath(name: string): string {
  if (name.includes("\0")) {
    throw new InvalidArgumentError(`entry name ${JSON.stringify(name)} holds a NUL`);
  }
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) {
        throw new InvalidArgumentError(`entry ${name} escapes the root of the layer`);
      }
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return "/" + parts.join("/");
}

/** The parent directory of a cleaned path (`/` for `/` and `/x`). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** The final component of a cleaned path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** `dir` + `/` + `name` for a cleaned directory path. */
export function joinPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}
