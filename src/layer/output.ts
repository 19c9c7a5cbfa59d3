import { createSink, type NativeSink } from "../../ffi/file.ts";
import { tarWriter } from "../../ffi/tar.ts";
import { zfileWriter, type ZfileWriterOptions } from "../../ffi/zfile.ts";

/** How a layer file is wrapped on its way to disk. */
export interface OutputOptions {
  /** Compress as ZFile with these options; undefined writes the bytes as they are. */
  zfile?: ZfileWriterOptions;
  /** Wrap the result in the one-file tar of spec §3 (what registries store). */
  tar?: boolean;
  /** Permission bits of the new file (default 0o644). */
  mode?: number;
}

/**
 * Creates `path` and returns the sink to write the layer bytes into:
 * file ← [tar wrapper] ← [ZFile writer]. Closing the returned sink finishes
 * every stage in order.
 *
 * @example Writing a tar-wrapped LZ4 ZFile
 * ```ts ignore
 * const out = openOutput("layer.commit", { zfile: { algorithm: "lz4" }, tar: true });
 * out.write(bytes);
 * out.close();
 * ```
 */
export function openOutput(path: string, options: OutputOptions = {}): NativeSink {
  const mode = options.mode ?? 0o644;
  let sink = createSink(path, mode);
  try {
    if (options.tar) sink = tarWriter(sink, 0o100000 | mode);
    if (options.zfile) sink = zfileWriter(sink, options.zfile);
  } catch (err) {
    sink.close();
    throw err;
  }
  return sink;
}
