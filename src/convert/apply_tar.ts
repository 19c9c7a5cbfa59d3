import type { Ext4Fs } from "../../ffi/ext4_apply.ts";
import { applyEntry } from "./apply_entry.ts";
import { cleanEntryPath } from "./entry_path.ts";
import { inContext } from "./error_context.ts";
import type { TarEntryWithBody } from "./tar_reader.ts";
import { applyWhiteout, parseWhiteout } from "./whiteout.ts";

/** What {@linkcode applyTar} counts. */
export interface EntryStats {
  /** Tar entries read, whiteouts included. */
  entries: number;
  /** Bytes of regular-file content written. */
  fileBytes: number;
  /** Whiteout entries applied. */
  whiteouts: number;
  /** Entries of lower layers they removed. */
  removed: number;
}

/**
 * Applies the tar entries to the merged filesystem `fs` with OCI layer
 * semantics (spec §7.5): whiteouts remove what lower layers had, entries of
 * this layer are kept whatever the order, existing paths of another kind
 * are replaced, directories merge.
 *
 * @throws the error kind of the failure, its message naming the entry
 */
export async function applyTar(
  fs: Ext4Fs,
  entries: AsyncIterable<TarEntryWithBody>,
): Promise<EntryStats> {
  const stats = { entries: 0, fileBytes: 0, whiteouts: 0, removed: 0 };
  const made = new Set<string>();
  for await (const entry of entries) {
    stats.entries++;
    try {
      const path = cleanEntryPath(entry.path);
      const whiteout = parseWhiteout(path);
      if (whiteout) {
        stats.whiteouts++;
        stats.removed += applyWhiteout(fs, whiteout, made);
        continue;
      }
      stats.fileBytes += await applyEntry(fs, path, entry);
      made.add(path);
    } catch (err) {
      throw inContext(err, `layer entry ${entry.path}`);
    }
  }
  return stats;
}
