import { TransientError } from "./_transient_error.ts";
import type { Transport } from "./transport.ts";

/** Where a response body goes when the caller owns the buffer (a ranged read). */
export interface BodyWindow {
  /** Body bytes to drop first (the offset, when a server ignored `Range`). */
  skip: number;
  /** Filled with the body bytes after `skip`; reading stops once it is full. */
  into: Uint8Array;
}

/** One HTTP exchange: a request, the redirects it leads to, the whole body. */
export interface ExchangeRequest {
  url: string;
  method: string;
  headers: Headers;
  body?: Uint8Array<ArrayBuffer>;
  /** Sent only to this origin: a redirect to storage elsewhere must not carry it. */
  authorization?: string;
  authOrigin: string;
  /** Abort when no byte arrives for this long (headers or body). */
  idleTimeoutMs: number;
  /** Picks a caller buffer for a successful body; undefined collects the body. */
  receive?: (status: number, headers: Headers) => BodyWindow | undefined;
  /** Called with each body chunk's length (the byte counter). */
  onBytes?: (n: number) => void;
}

/** What came back (after redirects). */
export interface ExchangeResult {
  status: number;
  headers: Headers;
  /** Final URL, after redirects. */
  url: string;
  /** The collected body; empty when it went into a {@linkcode BodyWindow}. */
  body: Uint8Array<ArrayBuffer>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * Runs one exchange under an idle timer. Redirects are followed by hand so
 * that `Authorization` goes only to `authOrigin` (registries redirect blob
 * GETs to object storage with signed URLs, which reject or leak a foreign
 * token).
 *
 * @throws {TransientError} on connection errors, stalls and truncated bodies
 */
export async function exchange(transport: Transport, x: ExchangeRequest): Promise<ExchangeResult> {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(), x.idleTimeoutMs);
  };
  let url = x.url;
  let method = x.method;
  let body = x.body;
  try {
    for (let hop = 0;; hop++) {
      const headers = new Headers(x.headers);
      if (x.authorization && new URL(url).origin === x.authOrigin) {
        headers.set("authorization", x.authorization);
      }
      arm();
      let res: Response;
      try {
        res = await transport.fetch(url, { method, headers, body, signal: ctl.signal });
      } catch (cause) {
        throw transient(where(url, x.url), ctl.signal.aborted, x.idleTimeoutMs, cause);
      }
      const location = res.headers.get("location");
      if (REDIRECTS.has(res.status) && location && hop < MAX_REDIRECTS) {
        await res.body?.cancel().catch(() => {});
        url = new URL(location, url).href;
        if (res.status === 303) [method, body] = ["GET", undefined];
        continue;
      }
      if (!res.ok) {
        // Error bodies are only for messages; some servers send fewer bytes than
        // their Content-Length (distribution's 416), so a short read is fine.
        const out = await readErrorBody(res, arm, x.onBytes);
        return { status: res.status, headers: res.headers, url, body: out };
      }
      let window: BodyWindow | undefined;
      try {
        window = x.receive?.(res.status, res.headers);
      } catch (err) {
        await res.body?.cancel().catch(() => {});
        throw err;
      }
      try {
        const out = await readBody(res, window, arm, x.onBytes);
        return { status: res.status, headers: res.headers, url, body: out };
      } catch (cause) {
        throw transient(
          `${where(url, x.url)}reading the body: `,
          ctl.signal.aborted,
          x.idleTimeoutMs,
          cause,
        );
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

// Attempt errors are reported under the request's URL; name a redirect target too.
function where(url: string, requested: string): string {
  return url === requested ? "" : `at ${url}: `;
}

// fetch() says "fetch failed" and puts the reason (refused, reset, certificate) in `cause`.
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && depth < 4; depth++) {
    const text = e instanceof Error ? e.message : String(e);
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

function transient(what: string, stalled: boolean, idleMs: number, cause: unknown) {
  const why = stalled ? `no data for ${idleMs} ms` : describe(cause);
  return new TransientError(`${what}${why}`, { cause });
}

const MAX_ERROR_BODY = 65536;

async function readErrorBody(
  res: Response,
  arm: () => void,
  onBytes?: (n: number) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!res.body) return new Uint8Array(0);
  const out = new Uint8Array(MAX_ERROR_BODY);
  let len = 0;
  const reader = res.body.getReader();
  try {
    while (len < out.length) {
      arm();
      const { done, value } = await reader.read();
      if (done) break;
      onBytes?.(value.length);
      const take = Math.min(value.length, out.length - len);
      out.set(value.subarray(0, take), len);
      len += take;
    }
  } catch {
    // keep what arrived
  } finally {
    await reader.cancel().catch(() => {});
  }
  return out.slice(0, len);
}

async function readBody(
  res: Response,
  window: BodyWindow | undefined,
  arm: () => void,
  onBytes?: (n: number) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!res.body) {
    if (window && window.into.length > 0) throw new Error("response has no body");
    return new Uint8Array(0);
  }
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let pos = 0; // body bytes seen
  let filled = 0;
  try {
    while (!window || filled < window.into.length) {
      arm();
      const { done, value } = await reader.read();
      if (done) break;
      onBytes?.(value.length);
      if (!window) parts.push(value);
      else {
        const from = Math.max(0, window.skip - pos);
        const take = Math.min(value.length - from, window.into.length - filled);
        if (take > 0) {
          window.into.set(value.subarray(from, from + take), filled);
          filled += take;
        }
      }
      pos += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (window) {
    if (filled < window.into.length) {
      throw new Error(`body ended after ${filled} of ${window.into.length} bytes`);
    }
    return new Uint8Array(0);
  }
  const out = new Uint8Array(pos);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
