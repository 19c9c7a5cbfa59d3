/**
 * Cold-start benchmark: the Debian packages it needs, installed with
 * apt-get when missing — `pigz` (containerd unpacks with `unpigz` when it is
 * there: the faster baseline; the image build uses it too), DejaVu fonts for
 * the charts, and the root packages of the images.
 *
 * @module
 */

const TOOLS = ["pigz", "fonts-dejavu-core", "containerd", "runc", "docker-registry"];

async function installed(pkg: string): Promise<boolean> {
  const out = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Status}", pkg],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).endsWith(" installed");
}

async function apt(args: string[]): Promise<void> {
  const out = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`apt-get ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Installs what is missing of the tools and `packages`; says what it installs. */
export async function ensurePackages(packages: string[], log: (line: string) => void) {
  const missing = [];
  for (const p of new Set([...TOOLS, ...packages])) if (!await installed(p)) missing.push(p);
  if (missing.length === 0) return;
  log(`installing ${missing.join(" ")}`);
  await apt(["update", "-qq"]);
  await apt(["install", "-y", "-qq", "--no-install-recommends", ...missing]);
}
