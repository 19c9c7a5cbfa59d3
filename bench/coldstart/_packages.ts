/**
 * Cold-start benchmark: root file systems made of Debian packages installed
 * on this machine — a package set's dependency closure (`Pre-Depends` and
 * `Depends`, the first installed alternative, virtual packages through
 * `Provides`) and the files `dpkg -L` lists for it, with their paths made
 * canonical for a merged-/usr system (`/lib/x86_64-linux-gnu/libc.so.6` is
 * `usr/lib/x86_64-linux-gnu/libc.so.6` in the image).
 *
 * @module
 */

/** An installed package as dpkg knows it. */
interface Installed {
  /** `Installed-Size`, KiB. */
  sizeKiB: number;
  /** Dependency groups; each lists alternatives. */
  depends: string[][];
  essential: boolean;
}

async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

const FIELDS = "${Package}\t${Status}\t${Installed-Size}\t${Pre-Depends}\t${Depends}\t" +
  "${Provides}\t${Essential}\n";

/** The installed packages, and which package provides each virtual name. */
async function installedPackages(): Promise<{
  pkgs: Map<string, Installed>;
  provides: Map<string, string>;
}> {
  const pkgs = new Map<string, Installed>();
  const provides = new Map<string, string>();
  const names = (list: string) =>
    list.split(",").map((d) => d.trim()).filter((d) => d).map((d) =>
      d.split("|").map((alt) => alt.replace(/\(.*\)/, "").trim().split(":")[0])
    );
  for (const line of (await output("dpkg-query", ["-W", `-f=${FIELDS}`])).split("\n")) {
    const [name, status, size, pre, dep, prov, essential] = line.split("\t");
    if (!status?.endsWith(" installed")) continue;
    pkgs.set(name, {
      sizeKiB: Number(size || 0),
      depends: names(`${pre},${dep}`),
      essential: essential === "yes",
    });
    for (const [p] of names(prov)) if (!provides.has(p)) provides.set(p, name);
  }
  return { pkgs, provides };
}

/** A closed set of installed packages. */
export interface PackageSet {
  names: string[];
  /** Sum of their `Installed-Size`, bytes. */
  installedBytes: number;
}

/**
 * The dependency closure of `roots` (and of every Essential package when
 * `essential` is set); `exclude` and what only it pulls in stay out.
 *
 * @throws {Error} naming a root that is not installed
 */
export async function packageClosure(
  roots: string[],
  options: { essential?: boolean; exclude?: Set<string> } = {},
): Promise<PackageSet> {
  const { pkgs, provides } = await installedPackages();
  const resolve = (n: string) => pkgs.has(n) ? n : provides.get(n);
  const start = [...roots];
  if (options.essential) { for (const [n, p] of pkgs) if (p.essential) start.push(n); }
  for (const r of roots) {
    if (!resolve(r)) throw new Error(`package ${r} is not installed (apt-get install ${r})`);
  }
  const seen = new Set<string>();
  const stack = start.map((r) => resolve(r)!);
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name) || options.exclude?.has(name)) continue;
    seen.add(name);
    for (const group of pkgs.get(name)!.depends) {
      const hit = group.map(resolve).find((n) => n !== undefined);
      if (hit) stack.push(hit);
    }
  }
  const names = [...seen].sort();
  const installedBytes = names.reduce((n, p) => n + pkgs.get(p)!.sizeKiB * 1024, 0);
  return { names, installedBytes };
}

/** `dir/name` with `dir`'s symlinks resolved; undefined when it does not exist. */
async function canonical(path: string, dirs: Map<string, string>): Promise<string | undefined> {
  const i = path.lastIndexOf("/");
  try {
    const parent = path.slice(0, i);
    let dir = dirs.get(parent);
    if (dir === undefined) {
      dir = i === 0 ? "" : await Deno.realPath(parent);
      dirs.set(parent, dir);
    }
    const out = `${dir}/${path.slice(i + 1)}`;
    await Deno.lstat(out);
    return out;
  } catch {
    return undefined; // a conffile the admin removed, or a path dpkg diverted
  }
}

/**
 * The files of `packages`, as paths relative to `/`, canonical (see the
 * module doc), each with every directory above it, sorted. With `pycache`
 * the `__pycache__` directories beside listed Python modules come along:
 * Debian compiles them at install time, so dpkg does not list them.
 */
export async function packageFiles(
  packages: string[],
  options: { pycache?: boolean } = {},
): Promise<string[]> {
  const files = new Set<string>();
  const add = (abs: string) => {
    for (let p = abs; p.length > 1 && !files.has(p.slice(1)); p = p.slice(0, p.lastIndexOf("/"))) {
      files.add(p.slice(1));
    }
  };
  const pyDirs = new Set<string>();
  const dirs = new Map<string, string>();
  for (let i = 0; i < packages.length; i += 50) {
    const listed = await output("dpkg", ["-L", ...packages.slice(i, i + 50)]);
    for (const line of listed.split("\n")) {
      if (!line.startsWith("/") || line === "/.") continue;
      const path = await canonical(line, dirs);
      if (!path) continue;
      add(path);
      if (options.pycache && path.endsWith(".py")) pyDirs.add(path.slice(0, path.lastIndexOf("/")));
    }
  }
  for (const dir of pyDirs) {
    try {
      for await (const e of Deno.readDir(`${dir}/__pycache__`)) {
        if (e.isFile && e.name.endsWith(".pyc")) add(`${dir}/__pycache__/${e.name}`);
      }
    } catch { /* never compiled */ }
  }
  return [...files].sort();
}
