import {
  InvalidArgumentError,
  NotFoundError,
  type OverlaybdError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedError,
} from "../errors.ts";

/**
 * ` (CODE: message)` from a registry error body
 * (`{"errors":[{"code","message"}]}`), or "" when the body is not one.
 */
export function statusDetail(body: Uint8Array): string {
  if (body.length === 0 || body.length > 65536) return "";
  try {
    const doc = JSON.parse(new TextDecoder().decode(body));
    const errors = Array.isArray(doc?.errors) ? doc.errors : [];
    const parts = errors.map((e: { code?: unknown; message?: unknown }) =>
      [e.code, e.message].filter((x) => typeof x === "string" && x).join(": ")
    ).filter(Boolean);
    return parts.length ? ` (${parts.join("; ")})` : "";
  } catch {
    return "";
  }
}

/**
 * The error for a status the operation did not expect: 404 → NotFoundError,
 * 405 → UnsupportedError (the registry does not offer the operation), 401/403
 * → UnauthenticatedError (denied access), other 4xx → InvalidArgumentError
 * (a bad request), the rest →
 * UnavailableError.
 *
 * @param what the operation and the object, e.g. "GET manifest 127.0.0.1:5000/app:v1"
 */
export function statusError(
  res: { status: number; body: Uint8Array },
  what: string,
): OverlaybdError {
  const message = `${what}: status ${res.status}${statusDetail(res.body)}`;
  if (res.status === 404) return new NotFoundError(message);
  if (res.status === 405) return new UnsupportedError(message);
  if (res.status === 401 || res.status === 403) return new UnauthenticatedError(message);
  if (res.status >= 400 && res.status < 500) return new InvalidArgumentError(message);
  return new UnavailableError(message);
}
