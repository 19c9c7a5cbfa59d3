import { UnsupportedError } from "../errors.ts";
import type { Repository } from "./client.ts";
import { describeRef, type FetchedManifest, fetchManifest, isIndex } from "./manifest.ts";
import type { Descriptor, ImageIndex, ImageManifest, Platform } from "./media_types.ts";
import { DEFAULT_PLATFORM, selectPlatform } from "./platform.ts";

/** Options of {@linkcode resolveImage}. */
export interface ResolveOptions {
  /** Platform to pick from an index (default linux/amd64). */
  platform?: Platform;
}

/** An image manifest ready to pull, and the index it was chosen from. */
export interface ResolvedImage {
  /** Descriptor of the image manifest (digest verified). */
  descriptor: Descriptor;
  manifest: ImageManifest;
  /** The manifest's exact bytes. */
  bytes: Uint8Array<ArrayBuffer>;
  /** The index or manifest list the reference named, if it named one. */
  index?: FetchedManifest;
}

/**
 * Resolves a tag or digest to one image manifest: fetches it, and when it is
 * an index or manifest list, follows the entry of the wanted platform.
 *
 * @throws {NotFoundError} for an unknown tag or a platform the index lacks
 * @throws {CorruptDataError} for bytes that do not match their digest
 * @throws {UnsupportedError} for an index whose entry is itself an index
 *
 * @example
 * ```ts ignore
 * const { manifest } = await resolveImage(repo, "latest", { platform: parsePlatform("linux/arm64") });
 * ```
 */
export async function resolveImage(
  repo: Repository,
  tagOrDigest: string,
  options: ResolveOptions = {},
): Promise<ResolvedImage> {
  const top = await fetchManifest(repo, tagOrDigest);
  if (!isIndex(top.descriptor.mediaType)) {
    return { descriptor: top.descriptor, manifest: top.content as ImageManifest, bytes: top.bytes };
  }
  const what = `index ${describeRef(repo, tagOrDigest)}`;
  const entry = selectPlatform(
    top.content as ImageIndex,
    options.platform ?? DEFAULT_PLATFORM,
    what,
  );
  const child = await fetchManifest(repo, entry.digest);
  if (isIndex(child.descriptor.mediaType)) {
    throw new UnsupportedError(`${what}: entry ${entry.digest} is a nested index`);
  }
  return {
    descriptor: { ...entry, mediaType: child.descriptor.mediaType, size: child.bytes.length },
    manifest: child.content as ImageManifest,
    bytes: child.bytes,
    index: top,
  };
}
