import type { DeviceConfig } from "../config/mod.ts";
import { overlaybdLayers } from "../oci/mod.ts";
import { type Repository, resolveImage, type ResolveOptions } from "../registry/mod.ts";

/**
 * The `config.v1.json` that mounts an overlaybd image straight from its
 * registry: every layer a remote lower (bottom first), `repoBlobUrl` the
 * repository's blob endpoint (spec §5.5). An acceleration (trace) layer on
 * top is left out of the stack.
 *
 * @throws {InvalidArgumentError} when the image is not an overlaybd image
 */
export async function deviceConfigForImage(
  repo: Repository,
  tagOrDigest: string,
  options: ResolveOptions = {},
): Promise<DeviceConfig> {
  const image = `${repo.registry}/${repo.name}:${tagOrDigest}`;
  const { manifest } = await resolveImage(repo, tagOrDigest, options);
  const layers = overlaybdLayers(manifest, image).filter((l) => !l.acceleration);
  return {
    repoBlobUrl: `${repo.endpoint}/v2/${repo.name}/blobs`,
    lowers: layers.map((l) => ({ digest: l.digest, size: l.size })),
    upper: {},
    resultFile: "",
  };
}
