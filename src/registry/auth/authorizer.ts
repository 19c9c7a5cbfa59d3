import { UnauthenticatedError, UnavailableError, UnsupportedError } from "../../errors.ts";
import { basicAuthorization } from "./basic.ts";
import { type BearerToken, parseTokenResponse, tokenUrl } from "./bearer.ts";
import { parseChallenges } from "./challenge.ts";
import type { Credentials, CredentialSource } from "./credentials.ts";

/** A GET without registry auth, with the client's retries (for token requests). */
export type TokenGet = (
  url: string,
  headers: Headers,
) => Promise<{ status: number; body: Uint8Array }>;

/** Options of an {@linkcode Authorizer}. */
export interface AuthorizerOptions {
  /** host[:port] of the registry endpoint, for credential lookups and messages. */
  host: string;
  /** Repository the client works on. */
  repository: string;
  credentials?: CredentialSource;
  get: TokenGet;
  /** Clock in ms (tests move it). */
  now?: () => number;
}

/**
 * Remembers how one registry wants to be authenticated and holds the bearer
 * tokens per scope set. The client asks {@linkcode Authorizer.authorization}
 * before each request and calls {@linkcode Authorizer.challenged} with the
 * `WWW-Authenticate` of a 401, then sends once more. Tokens are renewed
 * shortly before `expires_in` runs out and whenever the registry rejects one
 * (a token can expire in the middle of a series of lazy reads); concurrent
 * requests share one renewal.
 */
export class Authorizer {
  #o: AuthorizerOptions;
  #now: () => number;
  #basic: string | undefined;
  #bearer: { realm: string; service?: string } | undefined;
  #tokens = new Map<string, BearerToken>();
  #pending = new Map<string, Promise<BearerToken>>();
  #extraScopes = new Map<string, string[]>();

  constructor(options: AuthorizerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The `Authorization` value to send with a request needing `scopes`, if any is known. */
  async authorization(scopes: string[]): Promise<string | undefined> {
    if (this.#basic) return this.#basic;
    if (!this.#bearer) return undefined;
    const key = scopeKey(scopes);
    const token = this.#tokens.get(key);
    if (token && !this.#expiring(token)) return `Bearer ${token.value}`;
    return `Bearer ${(await this.#renew(key, scopes)).value}`;
  }

  /**
   * Learns from a 401: switches to the scheme the registry asks for and gets
   * a new token (unless another request already did since `sent` went out).
   *
   * @throws {UnauthenticatedError} when credentials are needed but missing, or were refused
   * @throws {UnsupportedError} for a challenge that is neither Bearer nor Basic
   */
  async challenged(header: string | null, scopes: string[], sent?: string): Promise<void> {
    const challenges = parseChallenges(header ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    if (bearer) {
      this.#bearer = { realm: bearer.params.realm, service: bearer.params.service };
      this.#basic = undefined;
      const key = scopeKey(scopes);
      const extra = (bearer.params.scope ?? "").split(" ").filter(Boolean);
      this.#extraScopes.set(key, extra);
      const current = this.#tokens.get(key);
      if (current && `Bearer ${current.value}` !== sent && !this.#expiring(current)) return;
      this.#tokens.delete(key);
      await this.#renew(key, scopes);
      return;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      const creds = await this.#lookup();
      if (!creds) throw this.rejection(undefined);
      const value = basicAuthorization(creds);
      if (value === sent) throw this.rejection(creds);
      this.#basic = value;
      return;
    }
    throw new UnsupportedError(
      `registry ${this.#o.host}: unsupported authentication challenge ${JSON.stringify(header)}`,
    );
  }

  /** The error for a registry that still answers 401 after the client authenticated. */
  rejection(creds: Credentials | undefined): UnauthenticatedError {
    const { host, repository } = this.#o;
    return creds
      ? new UnauthenticatedError(
        `registry ${host} rejected the credentials of user ${creds.username} for ${repository}`,
      )
      : new UnauthenticatedError(
        `registry ${host} requires credentials for ${repository} and none are configured`,
      );
  }

  /** Like {@linkcode rejection}, looking the credentials up first. */
  async rejectionNow(): Promise<UnauthenticatedError> {
    return this.rejection(await this.#lookup());
  }

  #expiring(token: BearerToken): boolean {
    return this.#now() >= token.expiresAt - 1_000;
  }

  #lookup(): Promise<Credentials | undefined> {
    const { credentials, host, repository } = this.#o;
    return credentials?.get({ host, repository }) ?? Promise.resolve(undefined);
  }

  #renew(key: string, scopes: string[]): Promise<BearerToken> {
    let pending = this.#pending.get(key);
    if (!pending) {
      const all = [...new Set([...scopes, ...(this.#extraScopes.get(key) ?? [])])];
      pending = this.#fetchToken(all).then((token) => {
        this.#tokens.set(key, token);
        return token;
      }).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #fetchToken(scopes: string[]): Promise<BearerToken> {
    const { realm, service } = this.#bearer!;
    const creds = await this.#lookup();
    const headers = new Headers();
    if (creds) headers.set("authorization", basicAuthorization(creds));
    const sentAt = this.#now();
    const res = await this.#o.get(tokenUrl(realm, service, scopes, creds?.username), headers);
    if (res.status === 401 || res.status === 403) {
      throw creds
        ? new UnauthenticatedError(
          `token server ${realm} rejected the credentials of user ${creds.username} for registry ${this.#o.host}`,
        )
        : this.rejection(undefined);
    }
    if (res.status !== 200) {
      throw new UnavailableError(
        `token server ${realm} answered ${res.status} for registry ${this.#o.host}`,
      );
    }
    return parseTokenResponse(res.body, realm, sentAt);
  }
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(" ");
}
