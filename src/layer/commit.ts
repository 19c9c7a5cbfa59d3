import { openWritableLayer } from "../../ffi/lsmt.ts";
import { removeQuietly } from "./remove_quietly.ts";
import { openOutput, type OutputOptions } from "./output.ts";

/** Options of {@linkcode commitLayer}. */
export interface CommitLayerOptions extends OutputOptions {
  uuid?: string;
  parentUuid?: string;
  userTag?: string;
}

/**
 * Compacts the writable layer `data` + `index` into the committed layer `out`
 * (spec §2.5), optionally as ZFile and tar-wrapped, as `overlaybd-commit`
 * does. A failed commit leaves no output file behind.
 *
 * @returns the size of the written file in bytes
 */
export function commitLayer(
  data: string,
  index: string,
  out: string,
  options: CommitLayerOptions = {},
): number {
  const layer = openWritableLayer(data, index);
  try {
    const sink = openOutput(out, options);
    try {
      layer.commit(sink, options);
      sink.close();
    } catch (err) {
      try {
        sink.close();
      } catch { /* the first error is the one worth reporting */ }
      removeQuietly(out);
      throw err;
    }
  } finally {
    layer.close();
  }
  return Deno.statSync(out).size;
}
