import { insecureFetch, openInsecureAgent } from "./_insecure_fetch.ts";

/** How to reach a registry over the network. */
export interface TransportOptions {
  /** Talk plain HTTP (`http://`) instead of HTTPS (`--plain`). */
  plain?: boolean;
  /**
   * Accept any TLS certificate the registry presents — self-signed, expired
   * or for another name — like Docker's "insecure registries" (`--insecure`).
   * The connection is still encrypted but not authenticated. Prefer
   * {@linkcode TransportOptions.caCerts} when the registry's CA is known.
   */
  insecure?: boolean;
  /** PEM certificates trusted in addition to the system CAs (a private CA or a self-signed server cert). */
  caCerts?: string[];
}

/** What one HTTP exchange needs; redirects are never followed here. */
export interface TransportRequest {
  method: string;
  headers: Headers;
  body?: Uint8Array<ArrayBuffer>;
  signal?: AbortSignal;
}

/**
 * Sends HTTP requests for a registry client and owns the connection pool.
 * Redirects are returned to the caller (who decides which headers follow).
 */
export interface Transport {
  /** `http` with `plain`, else `https`. */
  readonly scheme: "http" | "https";
  /** One request, no redirect following; rejects on connection errors. */
  fetch(url: string, request: TransportRequest): Promise<Response>;
  /** Closes the pooled connections. Idempotent. */
  close(): void;
}

/**
 * Opens a transport: `fetch()` with the system CAs (plus `caCerts`), or, when
 * `insecure`, an unverified TLS client for https URLs.
 *
 * @example
 * ```ts ignore
 * const t = openTransport({ caCerts: [await Deno.readTextFile("ca.pem")] });
 * try { await t.fetch("https://127.0.0.1:5000/v2/", { method: "GET", headers: new Headers() }); }
 * finally { t.close(); }
 * ```
 */
export function openTransport(options: TransportOptions = {}): Transport {
  return new FetchTransport(options);
}

class FetchTransport implements Transport {
  readonly scheme: "http" | "https";
  #client: Deno.HttpClient | undefined;
  #agent: ReturnType<typeof openInsecureAgent> | undefined;

  constructor(options: TransportOptions) {
    this.scheme = options.plain ? "http" : "https";
    if (options.caCerts?.length) this.#client = Deno.createHttpClient({ caCerts: options.caCerts });
    if (options.insecure) this.#agent = openInsecureAgent();
  }

  fetch(url: string, request: TransportRequest): Promise<Response> {
    if (this.#agent && url.startsWith("https:")) return insecureFetch(this.#agent, url, request);
    return fetch(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
      redirect: "manual",
      ...(this.#client ? { client: this.#client } : {}),
    });
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
    this.#agent?.destroy();
    this.#agent = undefined;
  }
}
