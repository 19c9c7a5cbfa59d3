import { CorruptDataError, UnsupportedError } from "../errors.ts";

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HASHES: Record<string, { name: string; hexLength: number }> = {
  sha256: { name: "SHA-256", hexLength: 64 },
  sha512: { name: "SHA-512", hexLength: 128 },
};

/** Whether `text` has the OCI digest grammar `algorithm:encoded`. */
export function isDigest(text: string): boolean {
  return DIGEST.test(text);
}

/**
 * Digest of `bytes` with the given algorithm, as `algorithm:hex`.
 *
 * @throws {UnsupportedError} for an algorithm other than sha256 and sha512
 */
export async function digestOf(
  bytes: Uint8Array<ArrayBuffer>,
  algorithm = "sha256",
): Promise<string> {
  const hash = HASHES[algorithm];
  if (!hash) throw new UnsupportedError(`digest algorithm ${algorithm} is not supported`);
  const sum = new Uint8Array(await crypto.subtle.digest(hash.name, bytes));
  return `${algorithm}:${Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * Checks that `bytes` hash to `expected`.
 *
 * @param what names the object in the error (e.g. "manifest 127.0.0.1:5000/app@sha256:…")
 * @throws {CorruptDataError} when the digest differs
 * @throws {UnsupportedError} for an algorithm this program cannot compute
 */
export async function verifyDigest(
  bytes: Uint8Array<ArrayBuffer>,
  expected: string,
  what: string,
): Promise<void> {
  const algorithm = expected.slice(0, expected.indexOf(":"));
  const got = await digestOf(bytes, algorithm);
  if (got !== expected) {
    throw new CorruptDataError(`${what}: content has digest ${got}, expected ${expected}`);
  }
}
