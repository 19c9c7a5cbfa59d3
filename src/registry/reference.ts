import { InvalidArgumentError } from "../errors.ts";
import { isDigest } from "./digest.ts";

/** A parsed image reference, normalised the way docker and containerd do it. */
export interface Reference {
  /** Registry name with its port, as written: `docker.io`, `localhost:5000`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path inside the registry: `library/ubuntu`, `team/app`. */
  repository: string;
  /** Tag; `latest` when the reference names neither a tag nor a digest. */
  tag?: string;
  /** Content digest (`sha256:<hex>`), when the reference pins one. */
  digest?: string;
}

/** The registry name every reference without a host belongs to. */
export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ENDPOINT = "registry-1.docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const MAX_NAME = 255;

/**
 * Parses `[registry[:port]/]repository[:tag][@digest]`. A first path component
 * is a registry when it holds a `.` or a `:` or is `localhost`; otherwise the
 * registry is `docker.io`, where one-component names get the `library/` prefix.
 *
 * @param text the reference as a user writes it
 * @returns the normalised reference (tag `latest` when neither tag nor digest is given)
 * @throws {InvalidArgumentError} naming the part of the reference that is malformed
 *
 * @example
 * ```ts ignore
 * parseReference("ubuntu"); // { registry: "docker.io", repository: "library/ubuntu", tag: "latest" }
 * ```
 */
export function parseReference(text: string): Reference {
  const fail = (why: string) =>
    new InvalidArgumentError(`invalid image reference ${JSON.stringify(text)}: ${why}`);
  if (text === "") throw fail("it is empty");
  let rest = text;
  let digest: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw fail(`digest ${JSON.stringify(digest)} is not algorithm:hex`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw fail(`tag ${JSON.stringify(tag)} is not [A-Za-z0-9_][A-Za-z0-9_.-]*`);
  }
  let registry = DOCKER_HUB;
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  if (first.includes(".") || first.includes(":") || first === "localhost") {
    if (!HOST.test(first)) throw fail(`registry ${JSON.stringify(first)} is not host[:port]`);
    registry = first === "index.docker.io" ? DOCKER_HUB : first;
    rest = rest.slice(slash + 1);
  }
  if (rest === "") throw fail("the repository name is missing");
  for (const part of rest.split("/")) {
    if (!COMPONENT.test(part)) {
      throw fail(
        `repository component ${
          JSON.stringify(part)
        } must be lower-case letters, digits and separators`,
      );
    }
  }
  if (registry === DOCKER_HUB && !rest.includes("/")) rest = `library/${rest}`;
  if (registry.length + 1 + rest.length > MAX_NAME) {
    throw fail(`the name is longer than ${MAX_NAME} characters`);
  }
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * The normalised string form: `registry/repository[:tag][@digest]`.
 *
 * @example
 * ```ts ignore
 * formatReference(parseReference("ubuntu")); // "docker.io/library/ubuntu:latest"
 * ```
 */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${
    ref.digest ? `@${ref.digest}` : ""
  }`;
}

/** The host[:port] that serves the registry's API (`docker.io` → `registry-1.docker.io`). */
export function endpointHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/**
 * Reads a device config's `repoBlobUrl` (spec §5.2,
 * `https://host[:port]/v2/<repository>/blobs`) back into a registry,
 * repository and scheme.
 *
 * @throws {InvalidArgumentError} when the URL is not http(s) or lacks `/v2/<name>/blobs`
 *
 * @example
 * ```ts ignore
 * parseRepoBlobUrl("http://127.0.0.1:5000/v2/hello-world/blobs");
 * // { reference: { registry: "127.0.0.1:5000", repository: "hello-world" }, plain: true }
 * ```
 */
export function parseRepoBlobUrl(url: string): { reference: Reference; plain: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new InvalidArgumentError(`invalid repoBlobUrl ${JSON.stringify(url)}`, { cause });
  }
  const m = /^\/v2\/(.+?)\/blobs\/?$/.exec(u.pathname);
  if (!m || (u.protocol !== "http:" && u.protocol !== "https:")) {
    throw new InvalidArgumentError(
      `invalid repoBlobUrl ${JSON.stringify(url)}: expected http(s)://host/v2/<name>/blobs`,
    );
  }
  const registry = u.host === DOCKER_HUB_ENDPOINT ? DOCKER_HUB : u.host;
  const parsed = parseReference(`${registry}/${m[1]}`);
  return {
    reference: { registry: parsed.registry, repository: parsed.repository },
    plain: u.protocol === "http:",
  };
}
