import { type DeviceConfig, readDeviceConfig } from "../config/mod.ts";
import { endpointHost, parsePlatform, parseReference, type Reference } from "../registry/mod.ts";
import { deviceConfigForImage } from "./device_config_for_image.ts";
import type { RegistryPool } from "./registry_pool.ts";

/** `repoBlobUrl` of the repository an image reference names (spec §5.1). */
export function repoBlobUrlOf(ref: Reference, plain: boolean): string {
  return `${plain ? "http" : "https"}://${endpointHost(ref.registry)}/v2/${ref.repository}/blobs`;
}

/** Whether `source` names a device config file rather than an image. */
async function isConfigFile(source: string): Promise<boolean> {
  if (!source.endsWith(".json")) return false;
  try {
    return (await Deno.stat(source)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * The device config to mount for `source`: a `config.v1.json` file as it is,
 * or an image reference resolved in its registry.
 *
 * @throws {InvalidArgumentError} for a malformed reference or a non-overlaybd image
 */
export async function deviceConfigFor(
  source: string,
  pool: RegistryPool,
  options: { plain?: boolean; platform?: string },
): Promise<DeviceConfig> {
  if (await isConfigFile(source)) return await readDeviceConfig(source);
  const ref = parseReference(source);
  const repo = pool.repositoryFor(repoBlobUrlOf(ref, options.plain === true));
  return await deviceConfigForImage(repo, ref.digest ?? ref.tag ?? "latest", {
    platform: options.platform ? parsePlatform(options.platform) : undefined,
  });
}
