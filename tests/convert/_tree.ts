/**
 * Test helper: a comparable snapshot of a directory tree — type, mode,
 * owner, content hash, symlink target, device number, mtime, xattrs and
 * hard-link groups of every entry — taken through the kernel, so the same
 * function reads a GNU-tar-unpacked reference and a mounted image.
 *
 * @module
 */

import { sha256File } from "../_helpers.ts";

/** What is compared of one entry. */
export interface EntrySnapshot {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: number;
  mtime?: number;
  xattrs: Record<string, string>;
  /** Other names of the same inode, sorted (hard links). */
  links: string[];
}

const XATTR_DUMP = `
import json, os, sys
root = sys.argv[1]
out = {}
for d, dirs, files in os.walk(root):
    for n in [d] + [os.path.join(d, f) for f in dirs + files]:
        rel = "/" + os.path.relpath(n, root) if n != root else "/"
        try:
            names = os.listxattr(n, follow_symlinks=False)
        except OSError:
            names = []
        out[rel.replace("/./", "/")] = {k: os.getxattr(n, k, follow_symlinks=False).hex() for k in sorted(names)}
print(json.dumps(out))
`;

async function xattrs(root: string): Promise<Record<string, Record<string, string>>> {
  const out = await new Deno.Command("python3", { args: ["-c", XATTR_DUMP, root] }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function typeOf(info: Deno.FileInfo): string {
  if (info.isSymlink) return "symlink";
  if (info.isDirectory) return "dir";
  if (info.isFile) return "file";
  if (info.isFifo) return "fifo";
  if (info.isCharDevice) return "char";
  if (info.isBlockDevice) return "block";
  if (info.isSocket) return "socket";
  return "other";
}

/** Snapshot of every entry below `root` except the paths in `skip`. */
export async function snapshotTree(
  root: string,
  skip: string[] = [],
): Promise<Map<string, EntrySnapshot>> {
  const x = await xattrs(root);
  const out = new Map<string, EntrySnapshot>();
  const inodes = new Map<number, string[]>();
  const walk = async (rel: string) => {
    const info = await Deno.lstat(root + rel);
    const type = typeOf(info);
    const e: EntrySnapshot = {
      type,
      mode: ((info.mode ?? 0) & 0o7777).toString(8),
      uid: info.uid ?? -1,
      gid: info.gid ?? -1,
      xattrs: x[rel] ?? {},
      links: [],
    };
    if (type !== "dir") e.mtime = Math.floor((info.mtime?.getTime() ?? 0) / 1000);
    if (type === "file") {
      e.size = info.size;
      e.sha256 = await sha256File(root + rel);
    }
    if (type === "symlink") e.target = await Deno.readLink(root + rel);
    if (type === "char" || type === "block") e.rdev = info.rdev ?? -1;
    if (type !== "dir" && info.nlink && info.nlink > 1) {
      const names = inodes.get(info.ino!) ?? [];
      names.push(rel);
      inodes.set(info.ino!, names);
    }
    out.set(rel, e);
    if (type === "dir") {
      for await (const d of Deno.readDir(root + rel)) {
        const child = rel === "/" ? `/${d.name}` : `${rel}/${d.name}`;
        if (!skip.includes(child)) await walk(child);
      }
    }
  };
  await walk("/");
  for (const names of inodes.values()) {
    for (const n of names) out.get(n)!.links = names.filter((m) => m !== n).sort();
  }
  return out;
}

/** Lines describing how two snapshots differ (empty when they are equal). */
export function diffTrees(
  want: Map<string, EntrySnapshot>,
  got: Map<string, EntrySnapshot>,
): string[] {
  const diffs: string[] = [];
  for (const [path, w] of want) {
    const g = got.get(path);
    if (!g) diffs.push(`missing ${path}`);
    else if (JSON.stringify(w) !== JSON.stringify(g)) {
      diffs.push(
        `${path}: want ${JSON.stringify(w)}\n${" ".repeat(path.length + 2)}got  ${
          JSON.stringify(g)
        }`,
      );
    }
  }
  for (const path of got.keys()) if (!want.has(path)) diffs.push(`unexpected ${path}`);
  return diffs;
}
