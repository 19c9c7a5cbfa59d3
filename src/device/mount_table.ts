/**
 * This process's view of the mount table (`/proc/self/mountinfo`): is a
 * directory mounted, what is mounted there, and which overlay mounts still
 * use it as a layer.
 *
 * @module
 */

/** One line of `/proc/self/mountinfo`. */
export interface MountEntry {
  mountpoint: string;
  fsType: string;
  source: string;
  /** Superblock options (for overlay: `lowerdir=…`, `upperdir=…`, `workdir=…`). */
  options: string[];
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses the text of a mountinfo file. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-", 6);
    if (dash < 0 || f.length < dash + 3) continue;
    out.push({
      mountpoint: unescape(f[4]),
      fsType: f[dash + 1],
      source: unescape(f[dash + 2]),
      options: (f[dash + 3] ?? "").split(",").map(unescape),
    });
  }
  return out;
}

const MOUNTINFO = "/proc/self/mountinfo";

/** The current mount table. */
export async function readMountTable(): Promise<MountEntry[]> {
  return parseMountInfo(await Deno.readTextFile(MOUNTINFO));
}

/** The current mount table, for code that must not yield (inside a store transaction). */
export function readMountTableSync(): MountEntry[] {
  return parseMountInfo(Deno.readTextFileSync(MOUNTINFO));
}

/** The topmost mount on `dir`, or undefined when `dir` is not a mount point. */
export function mountAt(table: readonly MountEntry[], dir: string): MountEntry | undefined {
  return table.findLast((m) => m.mountpoint === dir);
}

/**
 * Mount points of the overlay mounts that use `dir` as a lower, upper or
 * work directory.
 */
export function overlaysUsing(table: readonly MountEntry[], dir: string): string[] {
  const uses = (opt: string) => {
    const eq = opt.indexOf("=");
    const key = opt.slice(0, eq).replace(/\+$/, ""); // "lowerdir+=" from the new mount API
    if (!["lowerdir", "upperdir", "workdir"].includes(key)) return false;
    return opt.slice(eq + 1).split(":").includes(dir);
  };
  return table.filter((m) => m.fsType === "overlay" && m.options.some(uses)).map((m) =>
    m.mountpoint
  );
}
