/**
 * Test helper: a token server for distribution's token auth. It signs ES256
 * JWTs with a key and self-signed certificate made by openssl; the registry
 * trusts the certificate (`rootcertbundle`) and finds it in the `x5c` header.
 *
 * @module
 */
import { makeCert } from "./_registry.ts";

/** Options of {@linkcode startTokenServer}. */
export interface TokenServerOptions {
  /** Required `user:pass` (Basic); unset issues tokens to anyone. */
  users?: Record<string, string>;
  /** How long a token really works, in seconds (default 300). */
  lifetimeS?: number;
  /** `expires_in` told to the client (default = lifetimeS); a lie makes the registry reject mid-way. */
  advertisedS?: number;
  /** Answer with `access_token` instead of `token`. */
  accessTokenField?: boolean;
}

/** A running token server. */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM bundle for the registry's `rootcertbundle`. */
  rootCertBundle: string;
  /** Tokens issued so far. */
  readonly issued: number;
  /** Requests refused for bad credentials. */
  readonly refused: number;
  /** Scopes of every token request, in order. */
  readonly scopes: string[][];
  close(): Promise<void>;
}

// Distribution accepts a token until 60 s after its `exp` (clock-skew leeway).
const REGISTRY_LEEWAY_S = 60;

function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

function pemBody(pem: string): Uint8Array<ArrayBuffer> {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Starts the token server on 127.0.0.1 with a fresh key pair in `dir`. */
export async function startTokenServer(
  dir: string,
  options: TokenServerOptions = {},
): Promise<TokenServer> {
  const { cert, key, pem } = await makeCert(dir, "token-signer");
  const signer = await crypto.subtle.importKey(
    "pkcs8",
    pemBody(await Deno.readTextFile(key)),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const x5c = btoa(String.fromCharCode(...pemBody(pem)));
  const service = "overlaybd-test-registry";
  const issuer = "overlaybd-test-issuer";
  const lifetime = options.lifetimeS ?? 300;
  let issued = 0;
  let refused = 0;
  const scopes: string[][] = [];

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      if (options.users) {
        const auth = req.headers.get("authorization") ?? "";
        const [user, pass] = auth.startsWith("Basic ") ? atob(auth.slice(6)).split(/:(.*)/s) : [];
        if (!user || options.users[user] !== pass) {
          refused++;
          return new Response("denied", { status: 401 });
        }
      }
      const asked = url.searchParams.getAll("scope");
      scopes.push(asked);
      const access = asked.map((s) => {
        const [type, ...rest] = s.split(":");
        const actions = rest.pop()!.split(",");
        return { type, name: rest.join(":"), actions };
      });
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "ES256", x5c: [x5c] };
      const claims = {
        iss: issuer,
        sub: "test",
        aud: service,
        exp: now + lifetime - REGISTRY_LEEWAY_S,
        nbf: now - 1,
        iat: now,
        jti: crypto.randomUUID(),
        access,
      };
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const sig = new Uint8Array(
        await crypto.subtle.sign(
          { name: "ECDSA", hash: "SHA-256" },
          signer,
          new TextEncoder().encode(input),
        ),
      );
      issued++;
      const token = `${input}.${b64url(sig)}`;
      return Response.json({
        [options.accessTokenField ? "access_token" : "token"]: token,
        expires_in: options.advertisedS ?? lifetime,
        issued_at: new Date().toISOString(),
      });
    },
  );
  return {
    realm: `http://127.0.0.1:${server.addr.port}/token`,
    service,
    issuer,
    rootCertBundle: cert,
    get issued() {
      return issued;
    },
    get refused() {
      return refused;
    },
    get scopes() {
      return scopes;
    },
    close: () => server.shutdown(),
  };
}
