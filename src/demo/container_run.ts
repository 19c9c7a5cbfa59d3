import { openContainerdClient, openPrivateContainerd } from "../containerd/mod.ts";
import { CorruptDataError, FailedPreconditionError, UnavailableError } from "../errors.ts";
import { openRepository, parseReference } from "../registry/mod.ts";
import { findProgram, startSnapshotterProcess } from "../process/mod.ts";
import { rpull } from "../rpull/mod.ts";
import { cachedBytes } from "./cached_bytes.ts";
import { OS_RELEASE_LINE } from "./sample_layers.ts";
import { amount, type DemoSteps } from "./steps.ts";

/** What running the image in a container showed. */
export interface ContainerRun {
  /** What `cat /etc/os-release` printed in the container. */
  output: string;
  /** Seconds `ctr run` took, from a cold cache to the container's exit. */
  seconds: number;
  /** Bytes the snapshotter fetched from the registry to run it. */
  fetched: number;
}

/** Why the container part cannot run here, or undefined when it can. */
export function containerSkipReason(): string | undefined {
  if (Deno.uid() !== 0) return "containers need root";
  const missing = ["containerd", "runc", "ctr"].filter((p) => !findProgram(p));
  if (missing.length) {
    return `${missing.join(" and ")} not installed (scripts/setup.sh installs them)`;
  }
  return undefined;
}

/**
 * Runs the overlaybd image `image` (a plain-HTTP registry reference of
 * `imageBytes` bytes of layers) the way users will: `overlaybd snapshotter`
 * and a private containerd using it as proxy snapshotter `overlaybd`, both
 * in `dir`; `rpull` (manifest and config only); then
 * `ctr run --rm --snapshotter overlaybd IMAGE demo cat /etc/os-release`.
 * Each part is a step; containerd and the snapshotter are left to
 * `teardown`.
 *
 * @throws {CorruptDataError} when the container does not print {@linkcode OS_RELEASE_LINE}
 * @throws {FailedPreconditionError} when running it fetched the whole image
 */
export async function runInContainer(
  dir: string,
  image: string,
  imageBytes: number,
  { step, teardown, signal }: DemoSteps & { signal: AbortSignal },
): Promise<ContainerRun> {
  const host = parseReference(image).registry;
  const namespace = `overlaybd-demo-${crypto.randomUUID().slice(0, 8)}`;
  const [snapshotter, ctd] = await step(async () => {
    const sn = await startSnapshotterProcess({ dir: `${dir}/snapshotter`, insecureHosts: [host] });
    teardown.defer("snapshotter", () => sn.close());
    // Only now: containerd dials its proxy snapshotters as it starts, and after a failed
    // dial it retries with a backoff (up to 3 s) during which every call fails at once.
    const ctd = await openPrivateContainerd({
      dir: `${dir}/containerd`,
      proxySnapshotters: { overlaybd: sn.address },
      namespace,
    });
    teardown.defer("containerd", () => ctd.close());
    return [sn, ctd] as const;
  }, () => `started overlaybd snapshotter and a private containerd (proxy snapshotter overlaybd)`);

  await step(async () => {
    const reference = parseReference(image);
    const repo = openRepository(reference, { plain: true });
    const client = openContainerdClient({ address: ctd.address, namespace });
    try {
      return await rpull(client, repo, reference, { snapshotter: "overlaybd" });
    } finally {
      client.close();
      repo.close();
    }
  }, (r) =>
    `rpull ${image}: ${r.plan.layers.length} layers as remote snapshots, ` +
    `${amount(r.bytesFetched)} of manifest and config fetched`);

  return await step(async () => {
    const started = performance.now();
    const cmd = ["cat", "/etc/os-release"];
    const run = ["run", "--rm", ...ctd.runFlags, "--snapshotter", "overlaybd", image, "demo"];
    const out = await ctd.ctr([...run, ...cmd], { signal });
    const seconds = (performance.now() - started) / 1000;
    if (out.code !== 0) {
      throw new UnavailableError(
        `ctr run of ${image} failed (exit ${out.code}): ${out.stderr.trim()}`,
      );
    }
    if (!out.stdout.split("\n").includes(OS_RELEASE_LINE)) {
      throw new CorruptDataError(`the container printed ${JSON.stringify(out.stdout)}`);
    }
    const fetched = await cachedBytes(snapshotter.cacheDir);
    if (fetched >= imageBytes) {
      throw new FailedPreconditionError(
        `not lazy: the container fetched ${fetched} of ${imageBytes} bytes`,
      );
    }
    return { output: out.stdout, seconds, fetched };
  }, (r) =>
    `ctr run --rm --snapshotter overlaybd ${image} demo cat /etc/os-release printed ` +
    `${JSON.stringify(r.output.trim().split("\n").join(" | "))} in ${r.seconds.toFixed(2)} s, ` +
    `fetching ${amount(r.fetched)} of the ${amount(imageBytes)} image`);
}
