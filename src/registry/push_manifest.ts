import { CorruptDataError } from "../errors.ts";
import type { Repository } from "./client.ts";
import { digestOf } from "./digest.ts";
import { describeRef } from "./manifest.ts";
import type { Descriptor, ImageManifest } from "./media_types.ts";
import { addReferrer } from "./referrers.ts";
import { statusError } from "./status_error.ts";

/** Options of {@linkcode pushManifest}. */
export interface PushManifestOptions {
  /** Tag to put the manifest under; unset puts it by digest only. */
  tag?: string;
  /** Media type (`Content-Type`); default: the document's `mediaType` field. */
  mediaType?: string;
}

/**
 * PUTs a manifest or index, exactly these bytes, by tag or by digest. The
 * blobs and child manifests it names must be pushed first. A manifest with a
 * `subject` is also added to the subject's referrers fallback index when the
 * registry does not confirm it processed the subject (no `OCI-Subject`
 * header), so {@linkcode listReferrers} finds it either way.
 *
 * @returns the descriptor of the pushed manifest
 * @throws {CorruptDataError} when the bytes are not JSON or no media type is known
 * @throws {InvalidArgumentError} when the registry rejects the manifest (missing blobs, denied)
 *
 * @example
 * ```ts ignore
 * const desc = await pushManifest(repo, bytes, { tag: "v1" });
 * ```
 */
export async function pushManifest(
  repo: Repository,
  bytes: Uint8Array<ArrayBuffer>,
  options: PushManifestOptions = {},
): Promise<Descriptor> {
  const digest = await digestOf(bytes);
  const ref = options.tag ?? digest;
  const what = `manifest ${describeRef(repo, ref)}`;
  let doc: Partial<ImageManifest>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new CorruptDataError(`${what} is not valid JSON`, { cause });
  }
  const mediaType = options.mediaType ?? doc.mediaType;
  if (!mediaType) throw new CorruptDataError(`${what} has no mediaType; pass one`);
  const res = await repo.send({
    method: "PUT",
    path: `manifests/${ref}`,
    push: true,
    headers: { "content-type": mediaType },
    body: bytes,
  });
  if (res.status !== 201) throw statusError(res, `PUT ${what}`);
  const descriptor: Descriptor = { mediaType, digest, size: bytes.length };
  if (doc.subject && !res.headers.has("oci-subject")) {
    const artifactType = doc.artifactType ?? doc.config?.mediaType;
    await addReferrer(repo, doc.subject.digest, {
      ...descriptor,
      ...(artifactType ? { artifactType } : {}),
      ...(doc.annotations ? { annotations: doc.annotations } : {}),
    });
  }
  return descriptor;
}
