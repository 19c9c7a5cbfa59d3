import { CorruptDataError } from "../../errors.ts";

/** A bearer token and when to stop using it. */
export interface BearerToken {
  value: string;
  /** Milliseconds since the epoch after which the token is treated as expired. */
  expiresAt: number;
}

/** Lifetime assumed when a token server does not say (the Docker token spec's minimum). */
export const DEFAULT_TOKEN_LIFETIME_S = 60;

/**
 * URL of a token request: `realm?service=…&scope=…&scope=…[&account=…]`,
 * one `scope` parameter per scope as the Docker token spec has it.
 */
export function tokenUrl(
  realm: string,
  service: string | undefined,
  scopes: string[],
  account?: string,
): string {
  const url = new URL(realm);
  if (service) url.searchParams.set("service", service);
  for (const s of scopes) url.searchParams.append("scope", s);
  if (account) url.searchParams.set("account", account);
  return url.href;
}

/**
 * Reads a token server's answer: `token` or `access_token`, `expires_in`
 * seconds (default {@linkcode DEFAULT_TOKEN_LIFETIME_S}), counted from
 * `now` — the client's clock, so clock skew to `issued_at` does not matter.
 *
 * @throws {CorruptDataError} when the body is not JSON or holds no token
 */
export function parseTokenResponse(
  body: Uint8Array,
  realm: string,
  now = Date.now(),
): BearerToken {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder().decode(body));
  } catch (cause) {
    throw new CorruptDataError(`token server ${realm} answered with invalid JSON`, { cause });
  }
  const value = typeof doc?.token === "string" && doc.token
    ? doc.token
    : typeof doc?.access_token === "string" && doc.access_token
    ? doc.access_token
    : undefined;
  if (!value) throw new CorruptDataError(`token server ${realm} answered without a token`);
  const lifetime = typeof doc.expires_in === "number" && doc.expires_in > 0
    ? doc.expires_in
    : DEFAULT_TOKEN_LIFETIME_S;
  return { value, expiresAt: now + lifetime * 1000 };
}
