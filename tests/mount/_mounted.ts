/**
 * Test helper: a real registry holding the converted hello-world image, and
 * `overlaybd mount` of it into a temporary directory, torn down afterwards
 * even on failure (umount, then a forced cleanup if the daemon is gone).
 *
 * @module
 */

import { openRepository } from "../../src/registry/mod.ts";
import { openView } from "../../src/layer/mod.ts";
import { runCli, vector, withTempDir } from "../_helpers.ts";
import { HELLO_LAYOUT, pushLayout } from "../registry/_layout.ts";
import {
  type RegistryServer,
  startRegistry,
  type StartRegistryOptions,
} from "../registry/_registry.ts";

/** The hello-world layer blob, its digest and size. */
export const HELLO_BLOB =
  "upstream/hello-world-registry/blobs/sha256/022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d";
export const BLOB_DIGEST =
  "sha256:022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d";
export const BLOB_SIZE = 642560;
/** sha256 of /hello in the image. */
export const HELLO_SHA = "d3f7d10e296e5c626ea78539cb38cd8dffd043bea3627da35ce3b20c0ac68014";

/** What a test gets. */
export interface MountFixture {
  tmp: string;
  registry: RegistryServer;
  runDir: string;
  cacheDir: string;
  mnt: string;
  /** `overlaybd mount` of `host/hello-world:amd64-converted` (host defaults to the registry). */
  mount(extra?: string[], host?: string, mnt?: string): Promise<{ code: number; stderr: string }>;
  /** `overlaybd mount SOURCE mnt` of any source (a config file, say). */
  mountSource(source: string): Promise<{ code: number; stderr: string }>;
  umount(mnt?: string): Promise<{ code: number; stderr: string }>;
}

/** Whether `dir` is a mount point now. */
export async function isMounted(dir: string): Promise<boolean> {
  const table = await Deno.readTextFile("/proc/self/mounts");
  return table.split("\n").some((l) => l.split(" ")[1] === dir);
}

/** Bytes the blob cache holds on disk. */
export async function cachedBytes(cacheDir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(cacheDir)) {
    if (e.name.endsWith(".data")) {
      n += ((await Deno.stat(`${cacheDir}/${e.name}`)).blocks ?? 0) * 512;
    }
  }
  return n;
}

/** Runs `fn` with a registry holding hello-world and a ready mount fixture. */
export async function withHelloRegistry(
  registryOptions: StartRegistryOptions & { pushUser?: string; refillSize?: number },
  fn: (f: MountFixture) => Promise<void>,
): Promise<void> {
  await withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp, registryOptions);
    const runDir = `${tmp}/run`;
    const cacheDir = `${tmp}/cache`;
    const mnt = `${tmp}/mnt`;
    await Deno.mkdir(mnt);
    // Small refill pages (default 64 KiB) so that laziness shows on a small blob.
    const refillSize = registryOptions.refillSize ?? 65536;
    await Deno.writeTextFile(
      `${tmp}/overlaybd.json`,
      JSON.stringify({
        cacheConfig: { cacheDir: `${tmp}/unused-cache`, cacheSizeGB: 1, refillSize },
      }),
    );
    const mounts = new Set<string>();
    const f: MountFixture = {
      tmp,
      registry,
      runDir,
      cacheDir,
      mnt,
      mount: (extra = [], host = registry.host, dir = mnt) => {
        mounts.add(dir);
        return runCli([
          "mount",
          "--plain",
          "--config",
          `${tmp}/overlaybd.json`,
          "--run-dir",
          runDir,
          // The flag beats the config file's cacheDir.
          "--cache-dir",
          cacheDir,
          ...extra,
          `${host}/hello-world:amd64-converted`,
          dir,
        ]);
      },
      mountSource: (source) => {
        mounts.add(mnt);
        return runCli([
          "mount",
          "--plain",
          "--config",
          `${tmp}/overlaybd.json`,
          "--run-dir",
          runDir,
          source,
          mnt,
        ]);
      },
      umount: (dir = mnt) => runCli(["umount", "--run-dir", runDir, dir]),
    };
    try {
      const repo = openRepository(`${registry.host}/hello-world`, {
        plain: true,
        credentials: registryOptions.pushUser
          ? { get: () => Promise.resolve(splitUser(registryOptions.pushUser!)) }
          : undefined,
      });
      try {
        await pushLayout(repo, HELLO_LAYOUT);
      } finally {
        repo.close();
      }
      await fn(f);
    } finally {
      for (const dir of mounts) {
        if (await isMounted(dir)) await f.umount(dir);
        if (await isMounted(dir)) await new Deno.Command("umount", { args: ["-l", dir] }).output();
      }
      await registry.stop();
    }
  });
}

function splitUser(s: string) {
  const i = s.indexOf(":");
  return { username: s.slice(0, i), password: s.slice(i + 1) };
}

/** The byte ranges of the hello-world device that hold data, from the blob itself. */
export function dataRuns(): [number, number][] {
  const image = openView([vector(HELLO_BLOB)]);
  const runs: [number, number][] = [];
  try {
    for (let r = image.nextData(0); r !== null; r = image.nextData(r[1])) runs.push(r);
  } finally {
    image.close();
  }
  return runs;
}

/** Reads every data run of the device file; resolves to the first error's message, or "ok". */
export async function readAllData(file: string): Promise<string> {
  using f = await Deno.open(file);
  const buf = new Uint8Array(1 << 20);
  try {
    for (const [start, end] of dataRuns()) {
      for (let pos = start; pos < end; pos += buf.length) {
        await f.seek(pos, Deno.SeekMode.Start);
        await f.read(buf.subarray(0, Math.min(buf.length, end - pos)));
      }
    }
    return "ok";
  } catch (err) {
    return (err as Error).message;
  }
}

export async function dropCaches(): Promise<void> {
  await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3");
}
