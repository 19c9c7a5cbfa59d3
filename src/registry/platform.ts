import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { Descriptor, ImageIndex, Platform } from "./media_types.ts";

/** The platform chosen from an index when the caller names none. */
export const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

// Variants that an index may leave out because they are the only one in use.
const DEFAULT_VARIANT: Record<string, string> = { arm64: "v8", arm: "v7" };

/**
 * Parses `os/arch[/variant]` (the `--platform` flag).
 *
 * @throws {InvalidArgumentError} when the text does not have two or three non-empty parts
 *
 * @example
 * ```ts ignore
 * parsePlatform("linux/arm64/v8"); // { os: "linux", architecture: "arm64", variant: "v8" }
 * ```
 */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new InvalidArgumentError(
      `invalid platform ${JSON.stringify(text)}: expected os/arch[/variant]`,
    );
  }
  const [os, architecture, variant] = parts.map((p) => p.toLowerCase());
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** `os/arch[/variant]` of a platform. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

function variantOf(p: Platform): string | undefined {
  return p.variant || DEFAULT_VARIANT[p.architecture];
}

/** Whether an index entry's platform satisfies the wanted one. */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have || have.os !== want.os || have.architecture !== want.architecture) return false;
  return want.variant === undefined || variantOf(have) === variantOf(want);
}

/**
 * Picks the manifest of `want` from an index. When several entries match
 * (e.g. arm v6 and v7 for `linux/arm`), the one with the default variant wins,
 * then the first.
 *
 * @throws {NotFoundError} listing the platforms the index has
 */
export function selectPlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  const matches = index.manifests.filter((d) => platformMatches(d.platform, want));
  const best = matches.find((d) => variantOf(d.platform!) === variantOf(want)) ?? matches[0];
  if (best) return best;
  const have = index.manifests.flatMap((d) => d.platform ? [formatPlatform(d.platform)] : []);
  throw new NotFoundError(
    `${what}: no manifest for platform ${formatPlatform(want)} (index has ${
      have.join(", ") || "no platforms"
    })`,
  );
}
