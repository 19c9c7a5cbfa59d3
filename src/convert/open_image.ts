import type { Image } from "../../ffi/image.ts";
import type { DeviceConfig, LowerConfig } from "../config/mod.ts";
import { InvalidArgumentError, NotFoundError, UnsupportedError } from "../errors.ts";
import { openView } from "../layer/mod.ts";

/** The local file of a lower: `file`, else the first layer file in `dir` (spec §4.2). */
function lowerFile(lower: LowerConfig, i: number): string {
  const candidates = lower.file ? [lower.file] : [];
  if (lower.dir) {
    for (const name of ["overlaybd.commit", ".commit", "overlaybd.sealed"]) {
      candidates.push(`${lower.dir}/${name}`);
    }
  }
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  if (candidates.length === 0) {
    throw new UnsupportedError(
      `lowers[${i}] is only a remote blob (${lower.digest}): apply needs local layer files`,
    );
  }
  throw new NotFoundError(`lowers[${i}]: none of ${candidates.join(", ")} exists`);
}

/**
 * Opens the image a device config describes for writing: its lowers from
 * local files (bottom first) and its writable upper (`data` + `index`).
 *
 * @throws {InvalidArgumentError} when the config has no writable upper
 * @throws {UnsupportedError} for a lower that exists only in a registry
 */
export function openConfigImage(config: DeviceConfig, what: string): Image {
  const { data, index } = config.upper;
  if (!data || !index) {
    throw new InvalidArgumentError(`${what}: upper.data and upper.index name no writable layer`);
  }
  const lowers = config.lowers.map(lowerFile);
  return openView(lowers, { upper: { data, index } });
}
