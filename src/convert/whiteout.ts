import type { Ext4Stat } from "../../ffi/ext4_apply.ts";
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { baseName, joinPath, parentOf } from "./entry_path.ts";

/** Prefix of a whiteout entry's name (spec §7.5). */
export const WHITEOUT_PREFIX = ".wh.";
/** Name of the entry that makes its directory opaque. */
export const OPAQUE_MARKER = ".wh..wh..opq";

/** What a whiteout entry asks for. */
export type Whiteout =
  /** Remove `path` (recursively) unless this layer made it. */
  | { kind: "remove"; path: string }
  /** Remove from `dir` everything this layer did not make. */
  | { kind: "opaque"; dir: string }
  /** Another `.wh..wh.*` name (aufs bookkeeping such as `.wh..wh.plnk`): ignored. */
  | { kind: "ignore" };

/**
 * The whiteout a cleaned entry path stands for, or null for an ordinary entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseWhiteout("/etc/.wh.motd"), { kind: "remove", path: "/etc/motd" });
 * assert.deepEqual(parseWhiteout("/var/.wh..wh..opq"), { kind: "opaque", dir: "/var" });
 * assert.equal(parseWhiteout("/etc/motd"), null);
 * ```
 */
export function parseWhiteout(path: string): Whiteout | null {
  const name = baseName(path);
  if (!name.startsWith(WHITEOUT_PREFIX)) return null;
  if (name === OPAQUE_MARKER) return { kind: "opaque", dir: parentOf(path) };
  if (name.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return { kind: "ignore" };
  return { kind: "remove", path: joinPath(parentOf(path), name.slice(WHITEOUT_PREFIX.length)) };
}

/** The filesystem operations whiteouts need (an {@linkcode Ext4Fs} has them). */
export interface WhiteoutTarget {
  listDir(path: string): string[];
  lookup(path: string): Ext4Stat;
  remove(path: string): void;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/**
 * Applies `w` to the merged filesystem `fs`. Entries in `made` (paths this
 * layer created so far) are kept, whatever order the tar lists things in;
 * below an opaque directory, lower-layer entries go even inside
 * directories this layer re-created. A whiteout for a path that does not
 * exist is not an error.
 *
 * @returns the number of entries removed
 */
export function applyWhiteout(fs: WhiteoutTarget, w: Whiteout, made: Set<string>): number {
  if (w.kind === "ignore") return 0;
  if (w.kind === "remove") {
    if (made.has(w.path)) return 0;
    try {
      fs.remove(w.path);
      return 1;
    } catch (err) {
      if (err instanceof NotFoundError) return 0;
      throw err;
    }
  }
  return clearOpaque(fs, w.dir, made);
}

function clearOpaque(fs: WhiteoutTarget, dir: string, made: Set<string>): number {
  let names: string[];
  try {
    names = fs.listDir(dir);
  } catch (err) {
    // Nothing below yet, or not a directory: nothing to hide.
    if (err instanceof NotFoundError || err instanceof InvalidArgumentError) return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names) {
    const path = joinPath(dir, name);
    if (!made.has(path)) {
      fs.remove(path);
      removed++;
    } else if ((fs.lookup(path).mode & S_IFMT) === S_IFDIR) {
      removed += clearOpaque(fs, path, made);
    }
  }
  return removed;
}
