import { CorruptDataError, UnsupportedError } from "../errors.ts";
import type { Repository } from "./client.ts";
import { digestOf, isDigest, verifyDigest } from "./digest.ts";
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  INDEX_TYPES,
  MANIFEST_ACCEPT,
  MANIFEST_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./media_types.ts";
import { statusError } from "./status_error.ts";

/** A manifest or index as fetched: its descriptor, exact bytes and parsed JSON. */
export interface FetchedManifest {
  /** Media type (from `Content-Type`, else the JSON), digest of the bytes, size. */
  descriptor: Descriptor;
  /** The bytes as served; their digest is `descriptor.digest`. */
  bytes: Uint8Array<ArrayBuffer>;
  /** The parsed document; an index when `isIndex(descriptor.mediaType)`. */
  content: ImageManifest | ImageIndex;
}

/** Whether a media type is an OCI index or a Docker manifest list. */
export function isIndex(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

/** `registry/name:tag` or `registry/name@digest`, for messages. */
export function describeRef(repo: Repository, tagOrDigest: string): string {
  return `${repo.registry}/${repo.name}${isDigest(tagOrDigest) ? "@" : ":"}${tagOrDigest}`;
}

/**
 * GETs a manifest or index by tag or digest, accepting the Docker schema 2
 * and OCI types. Bytes fetched by digest are checked against it.
 *
 * @throws {NotFoundError} when the registry does not know the tag or digest
 * @throws {CorruptDataError} when the bytes do not match the digest or are not JSON
 * @throws {UnsupportedError} for schema 1 or an unknown media type
 */
export async function fetchManifest(
  repo: Repository,
  tagOrDigest: string,
): Promise<FetchedManifest> {
  const what = `manifest ${describeRef(repo, tagOrDigest)}`;
  const res = await repo.send({
    method: "GET",
    path: `manifests/${tagOrDigest}`,
    headers: { accept: MANIFEST_ACCEPT },
  });
  if (res.status !== 200) throw statusError(res, `GET ${what}`);
  const bytes = res.body;
  let digest: string;
  if (isDigest(tagOrDigest)) {
    await verifyDigest(bytes, tagOrDigest, what);
    digest = tagOrDigest;
  } else {
    digest = await digestOf(bytes);
    const claimed = res.headers.get("docker-content-digest");
    if (claimed?.startsWith("sha256:") && claimed !== digest) {
      throw new CorruptDataError(`${what}: content has digest ${digest}, registry says ${claimed}`);
    }
  }
  let content: ImageManifest | ImageIndex;
  try {
    content = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new CorruptDataError(`${what} is not valid JSON`, { cause });
  }
  if ((content as { schemaVersion?: number }).schemaVersion !== 2) {
    throw new UnsupportedError(`${what}: schema version ${content.schemaVersion} is not supported`);
  }
  const header = res.headers.get("content-type")?.split(";")[0].trim();
  const mediaType =
    [header, content.mediaType].find((t) =>
      t && (MANIFEST_TYPES.includes(t) || INDEX_TYPES.includes(t))
    ) ?? ("manifests" in content ? OCI_INDEX : "layers" in content ? OCI_MANIFEST : undefined);
  if (!mediaType) {
    throw new UnsupportedError(`${what}: media type ${header ?? "(none)"} is not a manifest`);
  }
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes, content };
}
