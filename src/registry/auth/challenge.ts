/** One challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  /** Scheme in lower case: `bearer`, `basic`. */
  scheme: string;
  /** Auth parameters with lower-case names (`realm`, `service`, `scope`, `error`). */
  params: Record<string, string>;
}

// token68 or auth-param: name=value where value is a token or a quoted string.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/**
 * Parses a `WWW-Authenticate` header (RFC 7235) into its challenges, e.g.
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"`.
 * Malformed tails are ignored rather than rejected: the caller only needs
 * the scheme and the parameters it knows.
 *
 * @param header the header value (several challenges may be comma-separated)
 * @returns the challenges in header order
 *
 * @example
 * ```ts ignore
 * parseChallenges('Basic realm="Registry"'); // [{ scheme: "basic", params: { realm: "Registry" } }]
 * ```
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let s = header;
  const skip = (re: RegExp) => {
    const m = re.exec(s);
    if (m) s = s.slice(m[0].length);
    return m;
  };
  while (s.length > 0) {
    skip(/^[\s,]+/);
    const scheme = skip(TOKEN);
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme[0].toLowerCase(), params: {} };
    out.push(challenge);
    skip(/^\s+/);
    while (s.length > 0) {
      const param = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*/.exec(s);
      if (!param) {
        // token68 (e.g. a Negotiate blob) or the next scheme: stop this challenge.
        if (skip(/^[A-Za-z0-9\-._~+/]+=*\s*(?=,|$)/)) continue;
        break;
      }
      s = s.slice(param[0].length);
      let value: string;
      if (s.startsWith('"')) {
        const m = /^"((?:[^"\\]|\\.)*)"/.exec(s);
        if (!m) return out;
        value = m[1].replace(/\\(.)/g, "$1");
        s = s.slice(m[0].length);
      } else {
        value = skip(TOKEN)?.[0] ?? "";
      }
      challenge.params[param[1].toLowerCase()] = value;
      const sep = skip(/^\s*,\s*/);
      if (!sep) break;
      // A comma followed by `word ` (no `=`) starts the next challenge.
      if (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:\s+[^=]|\s*$)/.test(s) && !/^[^\s=,]+\s*=/.test(s)) {
        break;
      }
    }
  }
  return out;
}
