import { CorruptDataError, InvalidArgumentError } from "../errors.ts";
import type { Repository } from "./client.ts";
import { verifyDigest } from "./digest.ts";
import { statusError } from "./status_error.ts";

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/**
 * Size of a blob from a HEAD request, or undefined when the registry does not have it.
 *
 * @throws {InvalidArgumentError} when access is denied
 * @throws {UnavailableError} when the registry cannot be reached
 */
export async function statBlob(repo: Repository, digest: string): Promise<number | undefined> {
  const res = await repo.send({ method: "HEAD", path: `blobs/${digest}` });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw statusError(res, `HEAD blob ${digest} in ${where(repo)}`);
  const size = Number(res.headers.get("content-length"));
  if (!Number.isSafeInteger(size)) {
    throw new CorruptDataError(`HEAD blob ${digest} in ${where(repo)}: no Content-Length`);
  }
  return size;
}

/**
 * Reads exactly `length` bytes of a blob from byte `offset` with an HTTP
 * Range GET (spec §11.1). A `206` must carry the matching `Content-Range`;
 * a server that ignores `Range` and answers `200` with the whole blob still
 * works — the window is cut out of the stream, which is then dropped — and
 * is reported once through the client's log.
 *
 * @param into optional buffer to fill (its first `length` bytes); the caller owns allocation
 * @returns the bytes (a view of `into` when given)
 * @throws {InvalidArgumentError} for a negative or out-of-blob range (status 416), denied access
 * @throws {NotFoundError} when the blob does not exist
 * @throws {CorruptDataError} when the server answers a different range than asked
 * @throws {UnavailableError} when every attempt failed (connection errors, 5xx, stalls)
 *
 * @example
 * ```ts ignore
 * const head = await readBlobRange(repo, "sha256:022231c3…", 0, 512);
 * ```
 */
export async function readBlobRange(
  repo: Repository,
  digest: string,
  offset: number,
  length: number,
  into?: Uint8Array,
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new InvalidArgumentError(
      `read of blob ${digest}: offset ${offset} and length ${length} must be non-negative integers`,
    );
  }
  if (into && into.length < length) {
    throw new InvalidArgumentError(
      `read of blob ${digest}: buffer of ${into.length} bytes is shorter than ${length}`,
    );
  }
  const buf = into ? into.subarray(0, length) : new Uint8Array(length);
  if (length === 0) return buf;
  const last = offset + length - 1;
  const what = `GET blob ${digest} bytes ${offset}-${last} in ${where(repo)}`;
  const res = await repo.send({
    method: "GET",
    path: `blobs/${digest}`,
    headers: { range: `bytes=${offset}-${last}`, "accept-encoding": "identity" },
    receive: (status, headers) => {
      if (status === 206) {
        const m = CONTENT_RANGE.exec(headers.get("content-range") ?? "");
        if (!m || Number(m[1]) !== offset || Number(m[2]) !== last) {
          throw new CorruptDataError(
            `${what}: server sent Content-Range ${headers.get("content-range")}`,
          );
        }
        return { skip: 0, into: buf };
      }
      const size = Number(headers.get("content-length") ?? NaN);
      if (size < offset + length) {
        throw new InvalidArgumentError(`${what}: the blob has only ${size} bytes`);
      }
      repo.warnOnce(
        `range:${repo.endpoint}`,
        `registry ${repo.registry} ignores Range requests (status ${status}); reading whole blobs`,
      );
      return { skip: offset, into: buf };
    },
  });
  if (res.status !== 206 && res.status !== 200) throw statusError(res, what);
  return buf;
}

/**
 * Reads a whole blob into memory and checks its digest.
 *
 * @throws {NotFoundError} when the blob does not exist
 * @throws {CorruptDataError} when the bytes do not match the digest
 */
export async function readBlob(repo: Repository, digest: string): Promise<Uint8Array<ArrayBuffer>> {
  const what = `GET blob ${digest} in ${where(repo)}`;
  const res = await repo.send({
    method: "GET",
    path: `blobs/${digest}`,
    headers: { "accept-encoding": "identity" },
  });
  if (res.status !== 200) throw statusError(res, what);
  await verifyDigest(res.body, digest, `blob ${digest} in ${where(repo)}`);
  return res.body;
}

function where(repo: Repository): string {
  return `${repo.registry}/${repo.name}`;
}
