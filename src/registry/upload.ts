import { InvalidArgumentError, UnavailableError } from "../errors.ts";
import { statBlob } from "./blob_reader.ts";
import type { Repository } from "./client.ts";
import { digestOf } from "./digest.ts";
import { statusError } from "./status_error.ts";

/** Options of {@linkcode pushBlob}. */
export interface PushBlobOptions {
  /** The blob's digest, when the caller has it already (it is not re-checked here; the registry checks). */
  digest?: string;
  /** Upload in `PATCH` chunks of this many bytes; unset uploads in one `PUT`. */
  chunkSize?: number;
  /** Ask the registry to mount the blob from this repository (same registry) instead of uploading. */
  mountFrom?: string;
}

/** What {@linkcode pushBlob} did. */
export interface PushedBlob {
  digest: string;
  size: number;
  /** `exists`: nothing sent; `mounted`: linked from `mountFrom`; `uploaded`: bytes sent. */
  how: "exists" | "mounted" | "uploaded";
}

/** Whether the repository has the blob (HEAD). */
export async function blobExists(repo: Repository, digest: string): Promise<boolean> {
  return (await statBlob(repo, digest)) !== undefined;
}

/**
 * Pushes a blob unless the repository has it: first a cross-repository
 * mount when `mountFrom` is given, else a monolithic upload (`POST` then
 * `PUT ?digest=`) or, with `chunkSize`, a chunked one (`PATCH` with
 * `Content-Range` per chunk, then `PUT`), as spec §11.1 describes.
 *
 * @throws {InvalidArgumentError} for a bad chunk size or a rejected push (denied, digest mismatch)
 * @throws {UnavailableError} when the registry cannot be reached
 *
 * @example
 * ```ts ignore
 * const { digest } = await pushBlob(repo, await Deno.readFile("layer.tar"), { chunkSize: 8 << 20 });
 * ```
 */
export async function pushBlob(
  repo: Repository,
  data: Uint8Array<ArrayBuffer>,
  options: PushBlobOptions = {},
): Promise<PushedBlob> {
  const digest = options.digest ?? await digestOf(data);
  const size = data.length;
  const what = `push of blob ${digest} to ${repo.registry}/${repo.name}`;
  if (options.chunkSize !== undefined && !(options.chunkSize > 0)) {
    throw new InvalidArgumentError(`${what}: chunk size ${options.chunkSize} must be positive`);
  }
  if (await blobExists(repo, digest)) return { digest, size, how: "exists" };

  const from = options.mountFrom;
  const start = await repo.send({
    method: "POST",
    path: from
      ? `blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`
      : "blobs/uploads/",
    push: true,
    extraScopes: from ? [`repository:${from}:pull`] : [],
  });
  if (start.status === 201) return { digest, size, how: "mounted" };
  if (start.status !== 202) throw statusError(start, `POST ${what}`);
  let location = uploadLocation(repo, start.headers, what);

  if (options.chunkSize !== undefined && size > 0) {
    for (let at = 0; at < size; at += options.chunkSize) {
      const chunk = data.subarray(at, Math.min(size, at + options.chunkSize));
      const res = await repo.send({
        method: "PATCH",
        path: location,
        push: true,
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${at}-${at + chunk.length - 1}`,
        },
        body: chunk,
      });
      if (res.status !== 202) throw statusError(res, `PATCH ${what} at ${at}`);
      location = uploadLocation(repo, res.headers, what);
    }
  }
  const done = new URL(location);
  done.searchParams.set("digest", digest);
  const monolithic = options.chunkSize === undefined;
  const res = await repo.send({
    method: "PUT",
    path: done.href,
    push: true,
    headers: { "content-type": "application/octet-stream" },
    body: monolithic ? data : new Uint8Array(0),
  });
  if (res.status !== 201) throw statusError(res, `PUT ${what}`);
  return { digest, size, how: "uploaded" };
}

function uploadLocation(repo: Repository, headers: Headers, what: string): string {
  const location = headers.get("location");
  if (!location) throw new UnavailableError(`${what}: the registry sent no upload Location`);
  return new URL(location, repo.endpoint).href;
}
