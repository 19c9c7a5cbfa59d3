/**
 * `native/src/layer.h`: opening a layer blob whatever its wrapping
 * (tar → ZFile → LSMT, spec §4).
 *
 * @module
 */

import { check } from "./errors.ts";
import { type NativeFile, NativeFile as File } from "./file.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";
import { ReadOnlyLayer } from "./lsmt.ts";

const lib = lazyLibrary({
  obd_layer_unwrap: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  obd_layer_open_path: { parameters: ["buffer", "buffer"], result: "i32" },
});

/** Strips a tar wrapper and decodes ZFile when present (ownership of `raw` passes on). */
export function unwrapLayer(raw: NativeFile): NativeFile {
  const name = raw.name;
  const out = outPointer();
  check(lib().obd_layer_unwrap(raw.take(), 1, out), `unwrap ${name}`);
  return new File(readPointer(out), name);
}

/** Opens the committed layer at `path` (tar-wrapped, ZFile or plain LSMT). */
export function openLayer(path: string): ReadOnlyLayer {
  const out = outPointer();
  check(lib().obd_layer_open_path(cString(path), out), `open layer ${path}`);
  return new ReadOnlyLayer(readPointer(out), path);
}
