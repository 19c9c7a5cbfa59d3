import { InvalidArgumentError } from "../errors.ts";

/** Largest prefetch list file (spec §8.5). */
export const PREFETCH_LIST_MAX_BYTES = 65536;

// An absolute path without "." or ".." components; a "*" only as a final "/*".
const PATH = /^\/[^*]*(\/\*)?$/;
const DOTS = /\/\.\.?(\/|$)/;

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

/**
 * The paths of a prefetch list (spec §8.5): one absolute path a line,
 * surrounding spaces trimmed, lines that are not plain absolute paths
 * ignored. A line ending in `/` or `/*` stands for every file under that
 * directory and comes back ending in `/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const text = new TextEncoder().encode(" /usr/bin/python3 \n/usr/lib/python3.11/*\nrelative\n");
 * assert.deepEqual(parsePrefetchList(text), ["/usr/bin/python3", "/usr/lib/python3.11/"]);
 * ```
 *
 * @throws {InvalidArgumentError} when the list is larger than 64 KiB
 */
export function parsePrefetchList(bytes: Uint8Array): string[] {
  if (bytes.byteLength > PREFETCH_LIST_MAX_BYTES) {
    throw new InvalidArgumentError(
      `prefetch list of ${bytes.byteLength} bytes is larger than ${PREFETCH_LIST_MAX_BYTES}`,
    );
  }
  const paths: string[] = [];
  for (const raw of new TextDecoder().decode(bytes).split("\n")) {
    const line = raw.trim();
    if (!PATH.test(line) || DOTS.test(line) || hasControl(line)) continue;
    paths.push(line.endsWith("/*") ? line.slice(0, -1) : line);
  }
  return paths;
}
