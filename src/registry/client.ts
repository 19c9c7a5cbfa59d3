import { UnavailableError } from "../errors.ts";
import { statusDetail } from "./status_error.ts";
import { Authorizer } from "./auth/authorizer.ts";
import type { CredentialSource } from "./auth/credentials.ts";
import { TransientError } from "./_transient_error.ts";
import { type BodyWindow, exchange, type ExchangeResult } from "./exchange.ts";
import { endpointHost, parseReference, type Reference } from "./reference.ts";
import { backoffDelay, isRetryableStatus, type RetryOptions, retryPolicy, sleep } from "./retry.ts";
import { openTransport, type TransportOptions } from "./transport.ts";

/** Options of {@linkcode openRepository}. */
export interface RepositoryOptions extends TransportOptions {
  /** Where credentials come from when the registry asks (default: anonymous only). */
  credentials?: CredentialSource;
  retry?: RetryOptions;
  /** `User-Agent` header (default `overlaybd/<version>`). */
  userAgent?: string;
  /** Receives warnings such as "server ignores Range" (default `console.warn`). */
  log?: (message: string) => void;
}

/** One request to a repository's API, as the operation files build it. */
export interface RegistryRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path below `/v2/<name>/` (`manifests/latest`), or an absolute URL (an upload location). */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer>;
  /** Needs `push` access besides `pull`. */
  push?: boolean;
  /** More token scopes (a cross-repository mount reads another repository). */
  extraScopes?: string[];
  /** Where a successful body goes (see {@linkcode BodyWindow}). */
  receive?: (status: number, headers: Headers) => BodyWindow | undefined;
  /** Whether a failed attempt may be repeated (default: all but PATCH). */
  retry?: boolean;
}

/**
 * A connection to one repository of one registry: transport, credentials,
 * tokens, retry policy and a byte counter. Operations (manifests, ranged blob
 * reads, pushes, referrers) are functions taking a `Repository`.
 *
 * `send()` authenticates (learning the scheme from the first 401, renewing
 * tokens when they expire), follows redirects without leaking the
 * `Authorization` header to other hosts, retries with backoff on 5xx, 429,
 * connection errors and stalls, and reads the whole body. A status it does
 * not retry comes back to the caller, who maps it to an error.
 */
export interface Repository {
  /** Registry name as in the reference (`docker.io`, `127.0.0.1:5000`). */
  readonly registry: string;
  /** Repository path (`library/ubuntu`). */
  readonly name: string;
  /** `scheme://host[:port]` of the API endpoint. */
  readonly endpoint: string;
  /** Body bytes received from the registry and its storage so far (all attempts, no token traffic). */
  readonly bytesFetched: number;
  /** Sends a request (see the interface doc). */
  send(request: RegistryRequest): Promise<ExchangeResult>;
  /** Logs `message` the first time `key` is seen. */
  warnOnce(key: string, message: string): void;
  /** Closes the connections. Idempotent. */
  close(): void;
}

/**
 * Opens a client for a repository, named by a reference (`host/name[:tag]`,
 * tag and digest ignored) or a parsed {@linkcode Reference}.
 *
 * @throws {InvalidArgumentError} for a malformed reference
 *
 * @example
 * ```ts ignore
 * const repo = openRepository("127.0.0.1:5000/hello-world", { plain: true });
 * try {
 *   const { manifest } = await resolveImage(repo, "amd64");
 * } finally {
 *   repo.close();
 * }
 * ```
 */
export function openRepository(
  ref: string | Reference,
  options: RepositoryOptions = {},
): Repository {
  return new RegistryRepository(typeof ref === "string" ? parseReference(ref) : ref, options);
}

class RegistryRepository implements Repository {
  readonly registry: string;
  readonly name: string;
  readonly endpoint: string;
  #bytes = 0;
  #transport;
  #auth: Authorizer;
  #policy;
  #userAgent: string;
  #log: (message: string) => void;
  #warned = new Set<string>();

  constructor(ref: Reference, options: RepositoryOptions) {
    this.registry = ref.registry;
    this.name = ref.repository;
    this.#transport = openTransport(options);
    this.endpoint = `${this.#transport.scheme}://${endpointHost(ref.registry)}`;
    this.#policy = retryPolicy(options.retry);
    this.#userAgent = options.userAgent ?? "overlaybd/0.1.0";
    this.#log = options.log ?? console.warn;
    this.#auth = new Authorizer({
      host: endpointHost(ref.registry),
      repository: ref.repository,
      credentials: options.credentials,
      get: (url, headers) => this.#retrying("GET", url, true, () => this.#plainGet(url, headers)),
    });
  }

  get bytesFetched(): number {
    return this.#bytes;
  }

  send(request: RegistryRequest): Promise<ExchangeResult> {
    const url = /^https?:\/\//.test(request.path)
      ? request.path
      : `${this.endpoint}/v2/${this.name}/${request.path}`;
    const retry = request.retry ?? request.method !== "PATCH";
    return this.#retrying(request.method, url, retry, () => this.#authenticated(url, request));
  }

  warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#log(message);
  }

  close(): void {
    this.#transport.close();
  }

  async #authenticated(url: string, request: RegistryRequest): Promise<ExchangeResult> {
    const scopes = [
      `repository:${this.name}:${request.push ? "pull,push" : "pull"}`,
      ...(request.extraScopes ?? []),
    ];
    const headers = new Headers(request.headers);
    headers.set("user-agent", this.#userAgent);
    const once = async (authorization: string | undefined) =>
      await exchange(this.#transport, {
        url,
        method: request.method,
        headers,
        body: request.body,
        authorization,
        authOrigin: this.endpoint,
        idleTimeoutMs: this.#policy.idleTimeoutMs,
        receive: request.receive,
        onBytes: (n) => this.#bytes += n,
      });
    const sent = await this.#auth.authorization(scopes);
    const first = await once(sent);
    if (first.status !== 401) return first;
    await this.#auth.challenged(first.headers.get("www-authenticate"), scopes, sent);
    const second = await once(await this.#auth.authorization(scopes));
    if (second.status === 401) throw await this.#auth.rejectionNow();
    return second;
  }

  async #plainGet(url: string, headers: Headers): Promise<ExchangeResult> {
    headers.set("user-agent", this.#userAgent);
    return await exchange(this.#transport, {
      url,
      method: "GET",
      headers,
      authOrigin: "",
      idleTimeoutMs: this.#policy.idleTimeoutMs,
    });
  }

  async #retrying(
    method: string,
    url: string,
    retry: boolean,
    attempt: () => Promise<ExchangeResult>,
  ): Promise<ExchangeResult> {
    const attempts = retry ? this.#policy.attempts : 1;
    for (let n = 1;; n++) {
      let retryAfter: string | null = null;
      let failure: string;
      let cause: unknown;
      try {
        const res = await attempt();
        if (!isRetryableStatus(res.status)) return res;
        failure = `status ${res.status}${statusDetail(res.body)}`;
        retryAfter = res.headers.get("retry-after");
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        [failure, cause] = [err.message, err];
      }
      if (n >= attempts) {
        throw new UnavailableError(
          `${method} ${url}: gave up after ${n} attempt${n > 1 ? "s" : ""}: ${failure}`,
          { cause },
        );
      }
      await sleep(backoffDelay(n, this.#policy, retryAfter));
    }
  }
}
