/**
 * The OCI registry client: image references, manifest and index resolution
 * with platform selection, ranged blob reads for the lazy block device,
 * pushes for the convertor, and the referrers API with its tag-schema
 * fallback (spec §7.1, §11.1).
 *
 * A {@linkcode Repository} (from {@linkcode openRepository}) owns the
 * connections, credentials, tokens, retry policy and a byte counter; the
 * operations are functions that take it:
 *
 * ```ts ignore
 * const ref = parseReference("127.0.0.1:5000/hello-world:amd64-converted");
 * const repo = openRepository(ref, { plain: true, credentials: dockerConfigCredentials() });
 * try {
 *   const { manifest } = await resolveImage(repo, ref.tag!);
 *   const head = await readBlobRange(repo, manifest.layers[0].digest, 0, 4096);
 * } finally {
 *   repo.close();
 * }
 * ```
 *
 * Errors: {@linkcode NotFoundError} (unknown tag, blob, platform),
 * {@linkcode InvalidArgumentError} (bad reference or range),
 * {@linkcode UnauthenticatedError} (refused or missing credentials),
 * {@linkcode CorruptDataError} (digest mismatch, wrong
 * `Content-Range`), {@linkcode UnavailableError} (unreachable after the
 * bounded retries).
 *
 * @module
 */

export * from "./auth/mod.ts";
export { readBlob, readBlobRange, statBlob } from "./blob_reader.ts";
export {
  openRepository,
  type RegistryRequest,
  type Repository,
  type RepositoryOptions,
} from "./client.ts";
export { digestOf, isDigest, verifyDigest } from "./digest.ts";
export type { BodyWindow, ExchangeResult } from "./exchange.ts";
export { describeRef, type FetchedManifest, fetchManifest, isIndex } from "./manifest.ts";
export * from "./media_types.ts";
export {
  DEFAULT_PLATFORM,
  formatPlatform,
  parsePlatform,
  platformMatches,
  selectPlatform,
} from "./platform.ts";
export { pushManifest, type PushManifestOptions } from "./push_manifest.ts";
export {
  DOCKER_HUB,
  endpointHost,
  formatReference,
  parseReference,
  parseRepoBlobUrl,
  type Reference,
} from "./reference.ts";
export { addReferrer, listReferrers, type ReferrersOptions, referrersTag } from "./referrers.ts";
export { type ResolvedImage, resolveImage, type ResolveOptions } from "./resolve.ts";
export { backoffDelay, isRetryableStatus, type RetryOptions, retryPolicy } from "./retry.ts";
export { statusError } from "./status_error.ts";
export { openTransport, type Transport, type TransportOptions } from "./transport.ts";
export { blobExists, pushBlob, type PushBlobOptions, type PushedBlob } from "./upload.ts";
