import {
  type EntryAttr,
  EXT4_PARENTS,
  type Ext4Fs,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
} from "../../ffi/ext4_apply.ts";
import { cleanEntryPath } from "./entry_path.ts";
import type { TarEntryWithBody } from "./tar_reader.ts";

const DEVICE_TYPE = { char: S_IFCHR, block: S_IFBLK, fifo: S_IFIFO } as const;

async function writeFile(fs: Ext4Fs, path: string, entry: TarEntryWithBody, attr: EntryAttr) {
  const whole = entry.bufferedBody();
  if (whole) return fs.writeFile(path, attr, whole, EXT4_PARENTS);
  const file = fs.createFile(path, attr, entry.size, EXT4_PARENTS);
  try {
    for await (const chunk of entry.body()) file.write(chunk);
  } catch (err) {
    try {
      file.end();
    } catch { /* the first failure is the one worth reporting */ }
    throw err;
  }
  file.end();
}

/**
 * Creates one (non-whiteout) tar entry at the cleaned path `path` of the
 * merged filesystem, replacing what is there as tar does, then sets its
 * xattrs. Missing parent directories are created.
 *
 * @returns the bytes of content written
 */
export async function applyEntry(
  fs: Ext4Fs,
  path: string,
  entry: TarEntryWithBody,
): Promise<number> {
  const attr: EntryAttr = {
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtime: entry.mtime,
  };
  let written = 0;
  switch (entry.type) {
    case "dir":
      fs.mkdir(path, attr, EXT4_PARENTS);
      break;
    case "file":
      await writeFile(fs, path, entry, attr);
      written = entry.size;
      break;
    case "symlink":
      fs.symlink(path, entry.linkname, attr, EXT4_PARENTS);
      break;
    case "hardlink":
      // Link names are archive paths, cleaned like entry names.
      fs.hardlink(path, cleanEntryPath(entry.linkname), EXT4_PARENTS);
      break;
    case "char":
    case "block":
    case "fifo":
      fs.mknod(
        path,
        { ...attr, mode: DEVICE_TYPE[entry.type] | entry.mode },
        entry.devmajor,
        entry.devminor,
        EXT4_PARENTS,
      );
      break;
  }
  for (const [name, value] of entry.xattrs) fs.setXattr(path, name, value);
  return written;
}
