/**
 * Shared test helpers: golden vector paths, temporary directories, hashing.
 *
 * @module
 */

/** Absolute path of a file under `../shared/vectors/` (or `$OBD_VECTORS`). */
export function vector(rel: string): string {
  const dir = Deno.env.get("OBD_VECTORS") ??
    new URL("../../shared/vectors", import.meta.url).pathname;
  return `${dir}/${rel}`;
}

/** Hex SHA-256 of bytes. */
export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex SHA-256 of a file. */
export async function sha256File(path: string): Promise<string> {
  return await sha256(await Deno.readFile(path));
}

/** Runs `fn` with a fresh temporary directory, removed afterwards even on failure. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "overlaybd-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Deterministic pseudo-random bytes (xorshift32), for reproducible tests. */
export function randomBytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Result of running the overlaybd CLI in a subprocess. */
export interface CliResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs `overlaybd ARGS...` (this checkout's main.ts) and captures its output. */
export async function runCli(args: string[]): Promise<CliResult> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", main, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}
