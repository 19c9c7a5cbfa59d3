/** One challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  /** Scheme in lower case: `bearer`, `basic`. */
  scheme: string;
  /** Auth parameters with lower-case names (`realm`, `service`, `scope`, `error`). */
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const PARAM = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*/;
// token68 (RFC 7235 §2.1), alone up to the next comma or the end.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*\s*(?=,|$)/;

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
  const take = (re: RegExp) => {
    const m = re.exec(s);
    if (m) s = s.slice(m[0].length);
    return m;
  };
  for (;;) {
    take(/^[\s,]+/);
    const scheme = take(TOKEN);
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme[0].toLowerCase(), params: {} };
    out.push(challenge);
    take(/^[ \t]+/);
    if (take(TOKEN68)) continue;
    for (;;) {
      const param = take(PARAM);
      if (!param) break;
      let value = "";
      if (s.startsWith('"')) {
        const quoted = take(/^"((?:[^"\\]|\\.)*)"/);
        if (!quoted) return out;
        value = quoted[1].replace(/\\(.)/g, "$1");
      } else {
        value = take(TOKEN)?.[0] ?? "";
      }
      challenge.params[param[1].toLowerCase()] = value;
      // After a comma comes either another parameter or the next challenge.
      const rest = /^\s*,\s*/.exec(s);
      if (!rest || !PARAM.test(s.slice(rest[0].length))) break;
      s = s.slice(rest[0].length);
    }
  }
  return out;
}
