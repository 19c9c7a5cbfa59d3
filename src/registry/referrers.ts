import { CorruptDataError, NotFoundError } from "../errors.ts";
import type { Repository } from "./client.ts";
import { describeRef, fetchManifest } from "./manifest.ts";
import { type Descriptor, type ImageIndex, OCI_INDEX } from "./media_types.ts";
import { statusError } from "./status_error.ts";

/** Options of {@linkcode listReferrers}. */
export interface ReferrersOptions {
  /** Only referrers with this `artifactType` (e.g. the overlaybd conversion type, spec §7.1). */
  artifactType?: string;
}

/**
 * The fallback tag that lists the referrers of `digest` on registries
 * without the referrers API (OCI distribution spec 1.1): `<alg>-<hex>`.
 */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-").slice(0, 128);
}

/**
 * Descriptors of the manifests whose `subject` is `digest`: from
 * `GET /v2/<name>/referrers/<digest>`, or, where that API answers 404 (as
 * Debian's distribution 2.8 does), from the index tagged
 * {@linkcode referrersTag}. No referrers is an empty list.
 *
 * @throws {CorruptDataError} when the registry answers something that is not an index
 * @throws {UnavailableError} when the registry cannot be reached
 */
export async function listReferrers(
  repo: Repository,
  digest: string,
  options: ReferrersOptions = {},
): Promise<Descriptor[]> {
  const filter = options.artifactType;
  const query = filter ? `?artifactType=${encodeURIComponent(filter)}` : "";
  const res = await repo.send({
    method: "GET",
    path: `referrers/${digest}${query}`,
    headers: { accept: OCI_INDEX },
  });
  let manifests: Descriptor[];
  if (res.status === 200) {
    manifests = parseIndex(res.body, `referrers of ${describeRef(repo, digest)}`).manifests ?? [];
  } else if (res.status === 404) {
    manifests = (await fallbackIndex(repo, digest))?.manifests ?? [];
  } else {
    throw statusError(res, `GET referrers of ${describeRef(repo, digest)}`);
  }
  return filter ? manifests.filter((d) => d.artifactType === filter) : manifests;
}

/**
 * Adds `referrer` to the fallback index of `subject` (read, append, `PUT`
 * under {@linkcode referrersTag}); a descriptor already listed is left alone.
 * {@linkcode pushManifest} calls it when the registry ignores `subject`.
 * Two writers racing on one subject can lose an entry, as with every client
 * of the tag schema.
 */
export async function addReferrer(
  repo: Repository,
  subject: string,
  referrer: Descriptor,
): Promise<void> {
  const index: ImageIndex = (await fallbackIndex(repo, subject)) ??
    { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  if (index.manifests.some((d) => d.digest === referrer.digest)) return;
  index.manifests.push(referrer);
  const tag = referrersTag(subject);
  const res = await repo.send({
    method: "PUT",
    path: `manifests/${tag}`,
    push: true,
    headers: { "content-type": OCI_INDEX },
    body: new TextEncoder().encode(JSON.stringify(index)),
  });
  if (res.status !== 201) throw statusError(res, `PUT referrers index ${describeRef(repo, tag)}`);
}

async function fallbackIndex(repo: Repository, subject: string): Promise<ImageIndex | undefined> {
  try {
    const got = await fetchManifest(repo, referrersTag(subject));
    return got.content as ImageIndex;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

function parseIndex(body: Uint8Array, what: string): ImageIndex {
  try {
    const doc = JSON.parse(new TextDecoder().decode(body));
    if (Array.isArray(doc?.manifests)) return doc;
  } catch (cause) {
    throw new CorruptDataError(`${what} is not valid JSON`, { cause });
  }
  throw new CorruptDataError(`${what} is not an image index`);
}
