/**
 * `overlaybd rpull`: a lazy pull of an overlaybd image into containerd.
 * Only the manifest and config are downloaded; each layer becomes a remote
 * snapshot of the overlaybd snapshotter, which reads its blocks from the
 * registry on demand once a container runs (spec §10.4 "rpull").
 *
 * ```ts ignore
 * const ctd = openContainerdClient({ address, namespace });
 * const ref = parseReference("registry.example/app:obd");
 * const repo = openRepository(ref, { credentials: dockerConfigCredentials() });
 * const { plan } = await rpull(ctd, repo, ref, { log: console.error });
 * // ctr run --snapshotter overlaybd <plan.name> c1 ...
 * ```
 *
 * @module
 */

export { IMAGE_REF, type PullPlan, pullPlan, SNAPSHOT_REF } from "./pull_plan.ts";
export { rpull, type RpullOptions, type RpullResult } from "./rpull.ts";
