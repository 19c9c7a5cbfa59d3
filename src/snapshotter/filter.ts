/**
 * containerd's filter language, as `Walk` (and `ctr snapshots ls`) sends it:
 *
 * ```
 * filter    := selector ("," selector)*          every selector must match
 * selector  := fieldpath [operator value]        no operator: the field is present
 * fieldpath := field ("." field)*
 * field     := quoted | [A-Za-z0-9_-]+
 * operator  := "==" | "!=" | "~=" | "@="         equal, not equal, regexp, contains
 * value     := quoted | [^\s,]+
 * quoted    := "…" | /…/ | |…|                   Go string escapes; the quote itself escaped
 * ```
 *
 * A list of filter strings matches when any of them does; an empty string
 * or an empty list matches everything. What a field path means is up to a
 * {@linkcode FieldLookup}; {@linkcode snapshotFields} gives the snapshot one.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";

/** The value at a field path, or undefined when the object has no such field. */
export type FieldLookup = (path: readonly string[]) => string | undefined;

/** A parsed filter. */
export interface Filter {
  /** Whether the object behind `lookup` matches. */
  match(lookup: FieldLookup): boolean;
}

type Operator = "present" | "==" | "!=" | "~=" | "@=";

interface Selector {
  path: string[];
  op: Operator;
  value: string;
  re?: RegExp;
}

const FIELD = /[A-Za-z0-9_-]/;
const QUOTES = new Set(['"', "/", "|"]);
const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
};

/** A cursor over one filter string; errors name the string and the position. */
class Scanner {
  pos = 0;
  constructor(readonly input: string) {}

  fail(why: string, at = this.pos): InvalidArgumentError {
    return new InvalidArgumentError(`filter ${JSON.stringify(this.input)}: ${why} at offset ${at}`);
  }

  skipSpace(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos])) this.pos++;
  }

  /** The next character after white space, without consuming it ("" at the end). */
  peek(): string {
    this.skipSpace();
    return this.input[this.pos] ?? "";
  }

  /** A quoted literal starting at the current position, unescaped. */
  quoted(): string {
    const start = this.pos;
    const quote = this.input[this.pos++];
    let out = "";
    for (;;) {
      const c = this.input[this.pos++];
      if (c === undefined || c === "\n") throw this.fail("quoted literal not terminated", start);
      if (c === quote) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      out += this.#escape(quote);
    }
  }

  #escape(quote: string): string {
    const at = this.pos - 1;
    const c = this.input[this.pos++];
    if (c === undefined) throw this.fail("quoted literal not terminated", at);
    if (c in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[c];
    if (c === quote) return c;
    const digits = c === "x" ? 2 : c === "u" ? 4 : c === "U" ? 8 : /[0-7]/.test(c) ? 3 : 0;
    if (digits === 0) throw this.fail(`illegal escape sequence \\${c}`, at);
    const octal = digits === 3;
    const text = octal
      ? this.input.slice(this.pos - 1, this.pos + 2)
      : this.input.slice(this.pos, this.pos + digits);
    this.pos += octal ? 2 : digits;
    const valid = octal ? /^[0-7]{3}$/ : new RegExp(`^[0-9A-Fa-f]{${digits}}$`);
    const code = parseInt(text, octal ? 8 : 16);
    if (!valid.test(text) || (octal && code > 255) || code > 0x10ffff) {
      throw this.fail(`illegal numeric escape sequence \\${c}`, at);
    }
    return String.fromCodePoint(code);
  }
}

function field(s: Scanner): string {
  const c = s.peek();
  if (QUOTES.has(c)) return s.quoted();
  const start = s.pos;
  while (s.pos < s.input.length && FIELD.test(s.input[s.pos])) s.pos++;
  if (s.pos === start) {
    throw s.fail(c ? `expected a field, got ${JSON.stringify(c)}` : "expected a field");
  }
  return s.input.slice(start, s.pos);
}

function operator(s: Scanner): Operator {
  s.peek();
  const start = s.pos;
  while (s.pos < s.input.length && "=!~@".includes(s.input[s.pos])) s.pos++;
  const op = s.input.slice(start, s.pos);
  if (op === "==" || op === "!=" || op === "~=" || op === "@=") return op;
  if (op === "") throw s.fail(`expected an operator (== != ~= @=) or ","`, start);
  throw s.fail(`unsupported operator ${JSON.stringify(op)}`, start);
}

function value(s: Scanner): string {
  const c = s.peek();
  if (QUOTES.has(c)) return s.quoted();
  const start = s.pos;
  while (s.pos < s.input.length && s.input[s.pos] !== "," && !/\s/.test(s.input[s.pos])) s.pos++;
  if (s.pos === start) throw s.fail("expected a value");
  return s.input.slice(start, s.pos);
}

function selector(s: Scanner): Selector {
  const path = [field(s)];
  while (s.peek() === ".") {
    s.pos++;
    path.push(field(s));
  }
  const next = s.peek();
  if (next === "," || next === "") return { path, op: "present", value: "" };
  const op = operator(s);
  const at = s.pos;
  const v = value(s);
  if (op !== "~=") return { path, op, value: v };
  try {
    return { path, op, value: v, re: new RegExp(v) };
  } catch (cause) {
    throw new InvalidArgumentError(
      `filter ${JSON.stringify(s.input)}: bad regular expression ${
        JSON.stringify(v)
      } at offset ${at}`,
      { cause },
    );
  }
}

function matches(sel: Selector, lookup: FieldLookup): boolean {
  const v = lookup(sel.path);
  switch (sel.op) {
    case "present":
      return v !== undefined;
    case "==":
      return v === sel.value;
    case "!=":
      return (v ?? "") !== sel.value;
    case "@=":
      return (v ?? "").includes(sel.value);
    case "~=":
      return sel.re!.test(v ?? "");
  }
}

/**
 * Parses one filter string: selectors joined by `,`, all of which must match.
 *
 * @param text the filter; "" matches everything
 * @returns the filter
 * @throws {InvalidArgumentError} naming the filter and the offset where it is malformed
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const f = parseFilter('kind==committed,labels."a.b"');
 * assert.equal(f.match((p) => p[0] === "kind" ? "committed" : p[1] === "a.b" ? "" : undefined), true);
 * ```
 */
export function parseFilter(text: string): Filter {
  const s = new Scanner(text);
  if (s.peek() === "") return { match: () => true };
  const all = [selector(s)];
  for (;;) {
    const c = s.peek();
    if (c === "") break;
    if (c !== ",") throw s.fail(`unexpected ${JSON.stringify(c)}`);
    s.pos++;
    all.push(selector(s));
  }
  return { match: (lookup) => all.every((sel) => matches(sel, lookup)) };
}

/**
 * Parses a list of filter strings into one filter that matches when any of
 * them does (containerd's `ParseAll`); an empty list matches everything.
 *
 * @throws {InvalidArgumentError} when any of the strings is malformed
 */
export function parseFilters(texts: readonly string[]): Filter {
  if (texts.length === 0) return { match: () => true };
  const any = texts.map(parseFilter);
  return { match: (lookup) => any.some((f) => f.match(lookup)) };
}

/** The fields a snapshot offers to filters, as containerd's snapshot adaptor names them. */
export interface FilterableSnapshot {
  name: string;
  parent: string;
  kind: string;
  labels: Record<string, string>;
}

/**
 * The field lookup of a snapshot: `name`, `parent` and `kind` are always
 * present; `labels.KEY` is the label KEY, where a key of several path
 * components is joined with `.` (so `labels.a.b` and `labels."a.b"` agree).
 */
export function snapshotFields(info: FilterableSnapshot): FieldLookup {
  return (path) => {
    switch (path[0]) {
      case "name":
        return info.name;
      case "parent":
        return info.parent;
      case "kind":
        return info.kind;
      case "labels": {
        if (path.length < 2) return undefined;
        const key = path.slice(1).join(".");
        return Object.hasOwn(info.labels, key) ? info.labels[key] : undefined;
      }
      default:
        return undefined;
    }
  };
}
