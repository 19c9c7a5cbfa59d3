import { type CredentialSource, decodeAuthEntry } from "./credentials.ts";
import { readAuths } from "./_read_auths.ts";

/** Upstream's default credential file (`credentialFilePath`, spec §6). */
export const DEFAULT_CREDENTIAL_FILE = "/opt/overlaybd/cred.json";

/**
 * Keys that may hold credentials for a repository, shortest first
 * (spec §6.1): `host`, `host/seg1`, `host/seg1/seg2`, …
 */
export function credentialKeys(host: string, repository: string): string[] {
  const keys = [host];
  for (const seg of repository.split("/")) keys.push(`${keys[keys.length - 1]}/${seg}`);
  return keys;
}

/**
 * Credentials from upstream's credential file (spec §6.1,
 * `credentialFilePath` / `credentialConfig.mode = "file"`):
 * `{"auths": {"<key>": {"username", "password"} | {"auth": base64}}}`. The
 * first `auths` entry, in file order, whose key equals one of
 * {@linkcode credentialKeys} wins — so a host-wide entry listed before a
 * repository entry shadows it, as upstream does. The file is re-read at each
 * lookup, as upstream re-queries on every challenge.
 *
 * @param path the credential file; a missing file has no credentials
 *
 * @example
 * ```ts ignore
 * const source = credentialFileCredentials("/opt/overlaybd/cred.json");
 * await source.get({ host: "registry.example.com", repository: "team/app" });
 * ```
 */
export function credentialFileCredentials(path = DEFAULT_CREDENTIAL_FILE): CredentialSource {
  return {
    async get({ host, repository }) {
      const keys = new Set(credentialKeys(host, repository));
      for (const [key, entry] of await readAuths(path)) {
        if (!keys.has(key)) continue;
        const creds = decodeAuthEntry(entry, `credential file ${path}, entry ${key}`);
        if (creds) return creds;
      }
      return undefined;
    },
  };
}
