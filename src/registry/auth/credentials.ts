import { InvalidArgumentError } from "../../errors.ts";

/** A user name and secret for one registry. */
export interface Credentials {
  username: string;
  password: string;
}

/** What a credential lookup is for. */
export interface CredentialRequest {
  /** host[:port] of the registry's API endpoint (`registry-1.docker.io` for Docker Hub). */
  host: string;
  /** Repository path (`library/ubuntu`). */
  repository: string;
}

/**
 * Where credentials come from. The client asks only when a registry
 * challenges it, and asks again at each new challenge (a source may rotate
 * secrets, as upstream's credential services do, spec §6.1).
 *
 * Implementations here: {@linkcode staticCredentials} (`user:pass` given by
 * the caller), {@linkcode dockerConfigCredentials} (`~/.docker/config.json`),
 * {@linkcode credentialFileCredentials} (upstream's `cred.json`), and
 * {@linkcode chainCredentials} to try several in order.
 */
export interface CredentialSource {
  /** Credentials for the request, or undefined when this source has none (anonymous). */
  get(request: CredentialRequest): Promise<Credentials | undefined>;
}

/**
 * A source that always answers with one `user:pass` (the password may contain `:`).
 *
 * @throws {InvalidArgumentError} when there is no `:` or the user name is empty
 */
export function staticCredentials(userColonPass: string): CredentialSource {
  const creds = splitUserPass(userColonPass, "credentials");
  return { get: () => Promise.resolve(creds) };
}

/** Tries each source in order; the first that knows the registry wins. */
export function chainCredentials(...sources: CredentialSource[]): CredentialSource {
  return {
    async get(request) {
      for (const source of sources) {
        const found = await source.get(request);
        if (found) return found;
      }
      return undefined;
    },
  };
}

/**
 * Splits `user:pass` at the first colon.
 *
 * @param what names the input in the error (a flag, a config key)
 * @throws {InvalidArgumentError} when there is no colon or the user name is empty
 */
export function splitUserPass(text: string, what: string): Credentials {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new InvalidArgumentError(`${what}: expected user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Reads one `auths` entry of a Docker-style config: either
 * `{"username", "password"}` or `{"auth": base64("user:pass")}`.
 * Returns undefined for an entry with neither (e.g. only an identity token).
 *
 * @throws {InvalidArgumentError} when `auth` is not base64 of `user:pass`
 */
export function decodeAuthEntry(entry: unknown, what: string): Credentials | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.username === "string" && e.username && typeof e.password === "string") {
    return { username: e.username, password: e.password };
  }
  if (typeof e.auth === "string" && e.auth) {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(atob(e.auth), (c) => c.charCodeAt(0)),
      );
    } catch (cause) {
      throw new InvalidArgumentError(`${what}: "auth" is not base64`, { cause });
    }
    return splitUserPass(text, what);
  }
  return undefined;
}
