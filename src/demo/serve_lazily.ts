import { callDaemon, daemonStarter, waitForDaemonExit } from "../mount/mod.ts";
import { buildOverlaybdImage } from "../oci/mod.ts";
import { digestOf, openRepository, pushBlob, pushManifest } from "../registry/mod.ts";
import { CorruptDataError } from "../errors.ts";
import { startLocalRegistry } from "./registry_server.ts";

/** What {@linkcode serveAndMountLazily} measured. */
export interface LazyReadResult {
  image: string;
  blobSize: number;
  /** Bytes of the blob the cache had to fetch to mount and read the file. */
  fetched: number;
}

async function cachedBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".data")) n += ((await Deno.stat(`${dir}/${e.name}`)).blocks ?? 0) * 512;
  }
  return n;
}

/**
 * Pushes a layer blob as an overlaybd image to a local registry, mounts it
 * with `overlaybd mount` (lazily: blocks are fetched as the kernel reads
 * them) and checks that `path` inside reads `expect`. Everything it starts is
 * stopped again.
 */
export async function serveAndMountLazily(
  work: string,
  blobPath: string,
  path: string,
  expect: string,
  step: (line: string) => void,
): Promise<LazyReadResult> {
  for (const d of ["registry", "run", "cache", "mnt"]) {
    await Deno.mkdir(`${work}/${d}`, { recursive: true });
  }
  const registry = await startLocalRegistry(`${work}/registry`);
  const runDir = `${work}/run`;
  const mnt = `${work}/mnt`;
  try {
    const blob = await Deno.readFile(blobPath);
    const layer = { digest: await digestOf(blob), size: blob.length };
    const built = await buildOverlaybdImage([layer]);
    const image = `${registry.host}/demo/hello:latest`;
    const repo = openRepository(`${registry.host}/demo/hello`, { plain: true });
    try {
      await pushBlob(repo, blob, { digest: layer.digest });
      await pushBlob(repo, built.config, { digest: built.configDescriptor.digest });
      await pushManifest(repo, built.manifest, { tag: "latest" });
    } finally {
      repo.close();
    }
    step(`pushed it as ${image} to a local docker-registry`);

    const config = `${work}/overlaybd.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({ cacheConfig: { cacheDir: `${work}/cache`, refillSize: 65536 } }),
    );
    await callDaemon(
      runDir,
      { op: "mount", source: image, dir: mnt, plain: true },
      daemonStarter(runDir, config),
    );
    try {
      const text = await Deno.readTextFile(`${mnt}/${path}`);
      if (text !== expect) {
        throw new CorruptDataError(`${path} reads ${JSON.stringify(text)} through the mount`);
      }
      const fetched = await cachedBytes(`${work}/cache`);
      step(
        `mounted it lazily with overlaybd mount and read /${path}: ${
          JSON.stringify(text.trim())
        } ` +
          `after fetching ${fetched} of ${blob.length} blob bytes`,
      );
      return { image, blobSize: blob.length, fetched };
    } finally {
      const reply = await callDaemon(runDir, { op: "umount", dir: mnt });
      if (reply.stopping) await waitForDaemonExit(runDir);
    }
  } finally {
    await registry.stop();
  }
}
