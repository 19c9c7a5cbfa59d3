import { Image } from "../../ffi/image.ts";
import { openLayer } from "../../ffi/layer.ts";
import { openWritableLayer, type ReadOnlyLayer } from "../../ffi/lsmt.ts";
import type { DeviceConfig, LowerConfig } from "../config/mod.ts";
import { InvalidArgumentError, NotFoundError, UnsupportedError } from "../errors.ts";

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

function open(config: DeviceConfig, what: string, scratch: boolean) {
  const { data, index } = config.upper;
  if (!data || !index) {
    throw new InvalidArgumentError(`${what}: upper.data and upper.index name no writable layer`);
  }
  const files = config.lowers.map(lowerFile);
  const lowers: ReadOnlyLayer[] = [];
  try {
    for (const file of files) lowers.push(openLayer(file));
    const upper = openWritableLayer(data, index);
    upper.setSync(!scratch);
    const ptr = upper.ptr;
    return { image: Image.open(lowers, upper), upper: ptr };
  } catch (err) {
    for (const l of lowers) l.close();
    throw err;
  }
}

/**
 * Opens the image a device config describes for writing: its lowers from
 * local files (bottom first) and its writable upper (`data` + `index`).
 *
 * @throws {InvalidArgumentError} when the config has no writable upper
 * @throws {UnsupportedError} for a lower that exists only in a registry
 */
export function openConfigImage(config: DeviceConfig, what: string): Image {
  return open(config, what, false).image;
}

/**
 * {@linkcode openConfigImage} for the convertor: the upper is scratch (not
 * fsynced when the image closes: it is committed and deleted at once) and
 * its native pointer is returned too, borrowed for committing it while the
 * image is open (valid until the image closes).
 */
export function openScratchImage(
  config: DeviceConfig,
  what: string,
): { image: Image; upper: Deno.PointerObject } {
  return open(config, what, true);
}
