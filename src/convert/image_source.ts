import { FailedPreconditionError, NotFoundError, UnsupportedError } from "../errors.ts";
import {
  chainCredentials,
  type Descriptor,
  DOCKER_CONFIG,
  dockerConfigCredentials,
  type ImageManifest,
  OCI_CONFIG,
  openRepository,
  parseReference,
  type Platform,
  readBlob,
  type Repository,
  resolveImage,
  staticCredentials,
} from "../registry/mod.ts";
import { labels } from "../oci/mod.ts";
import { fetchBlobToFile } from "./fetch_blob.ts";
import { parseJson, readLayoutBlob, resolveLayoutImage } from "./layout_image.ts";
import { layoutBlobPath, parseLayoutRef } from "./oci_layout.ts";

/** How to reach registries (`--plain`, `--insecure`, `--user`) and what to pick. */
export interface EndpointOptions {
  plain?: boolean;
  insecure?: boolean;
  /** `user:password`, tried before `~/.docker/config.json`. */
  user?: string;
}

/** Options of {@linkcode openSourceImage}. */
export interface SourceOptions extends EndpointOptions {
  /** Platform to pick from an index (default linux/amd64). */
  platform?: Platform;
}

/** A single-platform image to convert. */
export interface SourceImage {
  /** The name given, for messages. */
  name: string;
  descriptor: Descriptor;
  manifest: ImageManifest;
  /** The parsed image config. */
  config: Record<string, unknown>;
  /**
   * A local file with the layer blob's bytes, fetched into `dir` when
   * remote (digest checked while fetching; a layout's blob is checked when
   * it is decoded).
   *
   * @throws {NotFoundError} when the blob is missing
   */
  layerFile(layer: Descriptor, dir: string): Promise<string>;
  close(): void;
}

const LAYER_TYPE =
  /^application\/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar)(\.gzip|\+gzip|\+zstd|\.zstd)?$/;

/** Opens a repository of `reference` with the endpoint options. */
export function openEndpoint(reference: string, options: EndpointOptions): Repository {
  const sources = options.user ? [staticCredentials(options.user)] : [];
  return openRepository(reference, {
    plain: options.plain,
    insecure: options.insecure,
    credentials: chainCredentials(...sources, dockerConfigCredentials()),
  });
}

/**
 * Checks that a manifest is a convertible image: an image config, layers
 * that are (compressed) tars, not overlaybd already.
 */
function checkImage(manifest: ImageManifest, what: string): void {
  const configType = manifest.config?.mediaType;
  if (!Array.isArray(manifest.layers) || ![OCI_CONFIG, DOCKER_CONFIG].includes(configType)) {
    throw new UnsupportedError(`${what} is not a container image (config type ${configType})`);
  }
  for (const [i, layer] of manifest.layers.entries()) {
    if (layer.annotations?.[labels.BLOB_DIGEST]) {
      throw new FailedPreconditionError(`${what} is an overlaybd image already (layer ${i + 1})`);
    }
    if (!LAYER_TYPE.test(layer.mediaType)) {
      throw new UnsupportedError(
        `${what}: layer ${i + 1} ${layer.digest} has type ${layer.mediaType}`,
      );
    }
  }
}

async function fromRegistry(name: string, options: SourceOptions): Promise<SourceImage> {
  const ref = parseReference(name);
  const repo = openEndpoint(name, options);
  try {
    const resolved = await resolveImage(repo, ref.digest ?? ref.tag ?? "latest", options);
    checkImage(resolved.manifest, name);
    const configBytes = await readBlob(repo, resolved.manifest.config.digest);
    return {
      name,
      descriptor: resolved.descriptor,
      manifest: resolved.manifest,
      config: parseJson(configBytes, `config of ${name}`),
      async layerFile(layer, dir) {
        const path = `${dir}/${layer.digest.replace(":", "-")}`;
        await fetchBlobToFile(repo, layer, path);
        return path;
      },
      close: () => repo.close(),
    };
  } catch (err) {
    repo.close();
    throw err;
  }
}

async function fromLayout(name: string, options: SourceOptions): Promise<SourceImage> {
  const { dir, ref } = parseLayoutRef(name)!;
  const { descriptor, manifest } = await resolveLayoutImage(dir, ref, options.platform);
  checkImage(manifest, name);
  const configBytes = await readLayoutBlob(dir, manifest.config.digest, name);
  return {
    name,
    descriptor,
    manifest,
    config: parseJson(configBytes, `config of ${name}`),
    async layerFile(layer) {
      const path = layoutBlobPath(dir, layer.digest);
      try {
        await Deno.stat(path);
      } catch (cause) {
        if (cause instanceof Deno.errors.NotFound) {
          throw new NotFoundError(`${name}: blob ${layer.digest} is missing`, { cause });
        }
        throw cause;
      }
      return path;
    },
    close() {},
  };
}

/**
 * Opens the image to convert: a registry reference (tag or digest) or an
 * OCI layout `oci:DIR[:TAG]`, an index resolved to one platform.
 *
 * @throws {UnsupportedError} for a manifest that is not a container image
 * @throws {FailedPreconditionError} for an image that is overlaybd already
 * @throws {NotFoundError} for an unknown tag, digest or platform
 * @throws {UnavailableError} when the registry cannot be reached
 */
export function openSourceImage(name: string, options: SourceOptions = {}): Promise<SourceImage> {
  return parseLayoutRef(name) ? fromLayout(name, options) : fromRegistry(name, options);
}
