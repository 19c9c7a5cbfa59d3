import { copy, openFile } from "../../ffi/file.ts";
import { unwrapLayer } from "../../ffi/layer.ts";
import { unwrapTar } from "../../ffi/tar.ts";
import { openZfile, verifyZfile, zfileInfo, type ZfileWriterOptions } from "../../ffi/zfile.ts";
import { openOutput } from "./output.ts";
import { removeQuietly } from "./remove_quietly.ts";

/** Options of {@linkcode compressFile}. */
export interface CompressOptions {
  zfile?: ZfileWriterOptions;
  /** Wrap the ZFile in the one-file tar. */
  tar?: boolean;
}

function copyInto(
  path: string,
  out: string,
  options: Parameters<typeof openOutput>[1],
  unwrap: boolean,
) {
  let input = openFile(path);
  try {
    if (unwrap) input = unwrapLayer(input);
    const sink = openOutput(out, options);
    try {
      copy(input, sink);
      sink.close();
    } catch (err) {
      try {
        sink.close();
      } catch { /* report the first error */ }
      removeQuietly(out);
      throw err;
    }
  } finally {
    input.close();
  }
  return Deno.statSync(out).size;
}

/**
 * Compresses any file into a ZFile (`overlaybd-zfile IN OUT`), tar-wrapped
 * when asked. Returns the output size.
 */
export function compressFile(input: string, output: string, options: CompressOptions = {}): number {
  return copyInto(input, output, { zfile: options.zfile ?? {}, tar: options.tar }, false);
}

/**
 * Decompresses a ZFile (tar-wrapped or not) back to its original bytes
 * (`overlaybd-zfile -x`). Returns the output size.
 */
export function decompressFile(input: string, output: string): number {
  return copyInto(input, output, {}, true);
}

/**
 * Checks every block CRC of a ZFile (tar-wrapped or not).
 *
 * @returns the block count and the first damaged block, or null when all are intact
 */
export function verifyFile(path: string): { blocks: number; badBlock: number | null } {
  const z = openZfile(unwrapTar(openFile(path)));
  try {
    return { blocks: zfileInfo(z).blocks, badBlock: verifyZfile(z) };
  } finally {
    z.close();
  }
}
