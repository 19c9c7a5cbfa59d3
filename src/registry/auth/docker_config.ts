import { type CredentialSource, decodeAuthEntry } from "./credentials.ts";
import { readAuths } from "./_read_auths.ts";

const DOCKER_HUB_ALIASES = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

/** `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`. */
export function defaultDockerConfigPath(): string {
  const dir = Deno.env.get("DOCKER_CONFIG") ?? `${Deno.env.get("HOME") ?? ""}/.docker`;
  return `${dir}/config.json`;
}

// "https://index.docker.io/v1/" → "index.docker.io"; "localhost:5000" stays.
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
}

function sameRegistry(a: string, b: string): boolean {
  return a === b || (DOCKER_HUB_ALIASES.has(a) && DOCKER_HUB_ALIASES.has(b));
}

/**
 * Credentials from the `auths` map of a Docker client config
 * (`docker login` writes it). Keys are matched by registry host, with or
 * without a scheme or path (`https://index.docker.io/v1/` is Docker Hub);
 * entries hold `username`/`password` or `auth` = base64(`user:pass`).
 * Credential helpers (`credsStore`, `credHelpers`) are not run.
 *
 * The file is read at each lookup, so a `docker login` in between is seen.
 *
 * @param path the config file (default {@linkcode defaultDockerConfigPath}); a missing file has no credentials
 *
 * @example
 * ```ts ignore
 * const creds = await dockerConfigCredentials().get({ host: "127.0.0.1:5000", repository: "app" });
 * ```
 */
export function dockerConfigCredentials(path = defaultDockerConfigPath()): CredentialSource {
  return {
    async get({ host }) {
      const want = host.toLowerCase();
      for (const [key, entry] of await readAuths(path)) {
        if (!sameRegistry(keyHost(key), want)) continue;
        const creds = decodeAuthEntry(entry, `docker config ${path}, entry ${key}`);
        if (creds) return creds;
      }
      return undefined;
    },
  };
}
