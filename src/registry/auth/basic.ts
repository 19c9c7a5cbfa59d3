import type { Credentials } from "./credentials.ts";

/**
 * The `Authorization` value of HTTP Basic auth (RFC 7617, UTF-8).
 *
 * @example
 * ```ts ignore
 * basicAuthorization({ username: "a", password: "b" }); // "Basic YTpi"
 * ```
 */
export function basicAuthorization(creds: Credentials): string {
  const bytes = new TextEncoder().encode(`${creds.username}:${creds.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}
