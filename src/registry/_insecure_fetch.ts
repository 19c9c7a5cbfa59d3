import https from "node:https";
import { Readable } from "node:stream";
import type { TransportRequest } from "./transport.ts";

/**
 * A keep-alive HTTPS agent that does not verify certificates. Deno's own
 * `fetch()` cannot skip verification per client (only process-wide with a
 * flag), while its `node:https` honours `rejectUnauthorized: false`.
 */
export function openInsecureAgent(): https.Agent {
  return new https.Agent({ keepAlive: true, rejectUnauthorized: false });
}

const NO_BODY = new Set([101, 204, 205, 304]);

/** `fetch()`-like HTTPS request through `agent`, without following redirects. */
export function insecureFetch(
  agent: https.Agent,
  url: string,
  request: TransportRequest,
): Promise<Response> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request({
      agent,
      hostname: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port || 443,
      path: `${u.pathname}${u.search}`,
      method: request.method,
      headers: Object.fromEntries(request.headers),
      signal: request.signal,
    }, (res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        for (const v of Array.isArray(value) ? value : [value ?? ""]) headers.append(name, v);
      }
      const status = res.statusCode ?? 502;
      const empty = NO_BODY.has(status) || request.method === "HEAD";
      if (empty) res.resume();
      const body = empty ? null : Readable.toWeb(res) as ReadableStream<Uint8Array>;
      resolve(new Response(body, { status, statusText: res.statusMessage, headers }));
    });
    req.on("error", reject);
    req.end(request.body);
  });
}
