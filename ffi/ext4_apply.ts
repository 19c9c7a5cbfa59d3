/**
 * `native/src/ext4_apply.h`: the userspace ext4 writer over an image —
 * mkfs with the spec §7.3 parameters and the entry operations a layer tar
 * needs (spec §7.5).
 *
 * Ownership: {@linkcode Ext4Fs} borrows the {@linkcode Image} it was opened
 * on; close the filesystem before the image. Strings and buffers are only
 * read during the call; C keeps no pointer to them.
 *
 * @module
 */

import { check } from "./errors.ts";
import { Handle } from "./handle.ts";
import type { Image } from "./image.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";
import { u64At, view } from "./struct.ts";

const lib = lazyLibrary({
  ext4_mkfs: { parameters: ["pointer", "buffer"], result: "i32" },
  ext4_open: { parameters: ["pointer", "buffer"], result: "i32" },
  ext4_set_time: { parameters: ["pointer", "i64"], result: "void" },
  ext4_close: { parameters: ["pointer"], result: "i32" },
  ext4_mkdir: {
    parameters: ["pointer", "buffer", "u32", "u32", "u32", "i64", "u32"],
    result: "i32",
  },
  ext4_file_begin: {
    parameters: ["pointer", "buffer", "u32", "u32", "u32", "i64", "u64", "u32", "buffer"],
    result: "i32",
  },
  ext4_file_write: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  ext4_write_file: {
    parameters: ["pointer", "buffer", "u32", "u32", "u32", "i64", "buffer", "usize", "u32"],
    result: "i32",
  },
  ext4_file_end: { parameters: ["pointer"], result: "i32" },
  ext4_symlink: {
    parameters: ["pointer", "buffer", "buffer", "u32", "u32", "i64", "u32"],
    result: "i32",
  },
  ext4_hardlink: { parameters: ["pointer", "buffer", "buffer", "u32"], result: "i32" },
  ext4_mknod: {
    parameters: ["pointer", "buffer", "u32", "u32", "u32", "u32", "u32", "i64", "u32"],
    result: "i32",
  },
  ext4_set_xattr: { parameters: ["pointer", "buffer", "buffer", "buffer", "usize"], result: "i32" },
  ext4_remove: { parameters: ["pointer", "buffer"], result: "i32" },
  ext4_set_attr: { parameters: ["pointer", "buffer", "u32", "u32", "u32", "i64"], result: "i32" },
  ext4_lookup: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  ext4_list_dir: { parameters: ["pointer", "buffer", "buffer", "usize"], result: "i64" },
});

/** `EXT4_PARENTS`: create missing parent directories (0755, root, the entry's mtime). */
export const EXT4_PARENTS = 0x1;

/** File type bits of `mode` (Linux values). */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** Owner, permission bits and time of an entry. */
export interface EntryAttr {
  /** Permission bits (07777); type bits are ignored except by `mknod`. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; also used for atime, ctime and crtime. */
  mtime: number;
}

/** What {@linkcode Ext4Fs.lookup} reports (`ext4_stat`). */
export interface Ext4Stat {
  ino: number;
  size: number;
  /** Includes the S_IF* type bits. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
}

/** Options of {@linkcode mkfs}. */
export interface MkfsOptions {
  /** Filesystem size in bytes; default the image's virtual size. */
  size?: number;
  /** Seconds since the epoch for the new filesystem's times; default now. */
  timestamp?: number;
}

const decoder = new TextDecoder();

/**
 * Formats `image` as ext4 with the spec §7.3 parameters (no journal).
 *
 * @throws {InvalidArgumentError} when the size is below 16 MiB or beyond the image
 */
export function mkfs(image: Image, options: MkfsOptions = {}): void {
  const opts = new BigInt64Array([BigInt(options.size ?? 0), BigInt(options.timestamp ?? 0)]);
  check(lib().ext4_mkfs(image.ptr, new Uint8Array(opts.buffer)), "mkfs ext4");
}

/** A regular file being streamed into the filesystem; see {@linkcode Ext4Fs.createFile}. */
export class Ext4File {
  readonly #handle: Handle;
  readonly #done: () => void;
  readonly path: string;

  /** @internal */
  constructor(ptr: Deno.PointerObject, path: string, done: () => void) {
    this.#handle = new Handle(ptr, `ext4 file ${path}`);
    this.#done = done;
    this.path = path;
  }

  /** Appends `chunk` (any length) to the file. */
  write(chunk: Uint8Array<ArrayBuffer>): void {
    if (chunk.byteLength === 0) return;
    const rc = lib().ext4_file_write(this.#handle.ptr, chunk, BigInt(chunk.byteLength));
    check(rc, `write ${this.path}`);
  }

  /**
   * Finishes the file; must be called even after a failed write (it then
   * repeats that failure). Calling it twice is fine.
   *
   * @throws {CorruptDataError} when fewer bytes than announced arrived
   */
  end(): void {
    const p = this.#handle.release();
    if (p === null) return;
    this.#done();
    check(lib().ext4_file_end(p), `write ${this.path}`);
  }
}

/**
 * An ext4 filesystem inside an image, open for writing. Paths are absolute
 * inside the filesystem; symlinks in directories on the way are followed
 * inside the root, the final component never. See `native/src/ext4_apply.h`
 * for the exact semantics of each operation.
 */
export class Ext4Fs {
  readonly #handle: Handle;
  #file: Ext4File | null = null;

  private constructor(ptr: Deno.PointerObject) {
    this.#handle = new Handle(ptr, "ext4 filesystem");
  }

  /**
   * Opens the filesystem in `image`, which must stay open until this is closed.
   *
   * @throws {CorruptDataError} when the image holds no ext4
   * @throws {UnsupportedError} for features the writer cannot keep consistent
   */
  static open(image: Image): Ext4Fs {
    const out = outPointer();
    check(lib().ext4_open(image.ptr, new Uint8Array(out.buffer)), "open ext4 in image");
    return new Ext4Fs(readPointer(out));
  }

  /**
   * Records `timestamp` (seconds since the epoch; 0 = the clock) wherever the
   * filesystem itself stores a time from now on (the superblock's write time
   * at close), so that the same input gives the same bytes.
   */
  setTime(timestamp: number): void {
    lib().ext4_set_time(this.#handle.ptr, BigInt(timestamp));
  }

  /** Creates a directory, or updates the metadata of one that exists. */
  mkdir(path: string, attr: EntryAttr, flags = 0): void {
    const rc = lib().ext4_mkdir(
      this.#handle.ptr,
      cString(path),
      attr.mode,
      attr.uid,
      attr.gid,
      BigInt(attr.mtime),
      flags,
    );
    check(rc, `mkdir ${path}`);
  }

  /**
   * Starts a regular file of exactly `size` bytes, replacing whatever is at
   * `path`. Write its content with {@linkcode Ext4File.write}, then call
   * {@linkcode Ext4File.end}; nothing else may be done on the filesystem
   * in between. All-zero 4 KiB blocks become holes.
   */
  createFile(path: string, attr: EntryAttr, size: number, flags = 0): Ext4File {
    const out = outPointer();
    const rc = lib().ext4_file_begin(
      this.#handle.ptr,
      cString(path),
      attr.mode,
      attr.uid,
      attr.gid,
      BigInt(attr.mtime),
      BigInt(size),
      flags,
      new Uint8Array(out.buffer),
    );
    check(rc, `create ${path}`);
    this.#file = new Ext4File(readPointer(out), path, () => this.#file = null);
    return this.#file;
  }

  /**
   * {@linkcode createFile}, write and end in one call, for content at hand
   * (most files of a layer are small).
   */
  writeFile(path: string, attr: EntryAttr, data: Uint8Array<ArrayBuffer>, flags = 0): void {
    const rc = lib().ext4_write_file(
      this.#handle.ptr,
      cString(path),
      attr.mode,
      attr.uid,
      attr.gid,
      BigInt(attr.mtime),
      data,
      BigInt(data.byteLength),
      flags,
    );
    check(rc, `write ${path}`);
  }

  /** Creates a symlink whose target is stored verbatim. */
  symlink(path: string, target: string, attr: Omit<EntryAttr, "mode">, flags = 0): void {
    const rc = lib().ext4_symlink(
      this.#handle.ptr,
      cString(path),
      cString(target),
      attr.uid,
      attr.gid,
      BigInt(attr.mtime),
      flags,
    );
    check(rc, `symlink ${path}`);
  }

  /** Makes `path` another name of the existing non-directory `existing`. */
  hardlink(path: string, existing: string, flags = 0): void {
    check(
      lib().ext4_hardlink(this.#handle.ptr, cString(path), cString(existing), flags),
      `hard link ${path}`,
    );
  }

  /** Creates a device, FIFO or socket; `attr.mode` carries the S_IF* type. */
  mknod(path: string, attr: EntryAttr, major: number, minor: number, flags = 0): void {
    const rc = lib().ext4_mknod(
      this.#handle.ptr,
      cString(path),
      attr.mode,
      major,
      minor,
      attr.uid,
      attr.gid,
      BigInt(attr.mtime),
      flags,
    );
    check(rc, `mknod ${path}`);
  }

  /** Sets one extended attribute by its full name (`user.x`, `security.capability`). */
  setXattr(path: string, name: string, value: Uint8Array<ArrayBuffer>): void {
    const rc = lib().ext4_set_xattr(
      this.#handle.ptr,
      cString(path),
      cString(name),
      value,
      BigInt(value.byteLength),
    );
    check(rc, `set xattr ${name} on ${path}`);
  }

  /**
   * Removes `path`, a directory with everything below it.
   *
   * @throws {NotFoundError} when it does not exist
   */
  remove(path: string): void {
    check(lib().ext4_remove(this.#handle.ptr, cString(path)), `remove ${path}`);
  }

  /** Updates permission bits, owner and times of an existing entry. */
  setAttr(path: string, attr: EntryAttr): void {
    const rc = lib().ext4_set_attr(
      this.#handle.ptr,
      cString(path),
      attr.mode,
      attr.uid,
      attr.gid,
      BigInt(attr.mtime),
    );
    check(rc, `set attributes of ${path}`);
  }

  /**
   * Stats `path` without following its final component.
   *
   * @throws {NotFoundError} when it does not exist
   */
  lookup(path: string): Ext4Stat {
    const out = new Uint8Array(40);
    check(lib().ext4_lookup(this.#handle.ptr, cString(path), out), `look up ${path}`);
    const v = view(out);
    return {
      ino: u64At(v, 0),
      size: u64At(v, 8),
      mode: v.getUint32(16, true),
      uid: v.getUint32(20, true),
      gid: v.getUint32(24, true),
      nlink: v.getUint32(28, true),
      mtime: Number(v.getBigInt64(32, true)),
    };
  }

  /** The names in directory `path`, without `.` and `..`. */
  listDir(path: string): string[] {
    const p = cString(path);
    let buf = new Uint8Array(4096);
    for (;;) {
      const need = Number(check(
        lib().ext4_list_dir(this.#handle.ptr, p, buf, BigInt(buf.byteLength)),
        `list ${path}`,
      ));
      if (need <= buf.byteLength) {
        if (need === 0) return [];
        return decoder.decode(buf.subarray(0, need - 1)).split("\0");
      }
      buf = new Uint8Array(need);
    }
  }

  /**
   * Writes back all metadata and flushes to the image. Closing twice is
   * fine; an open file is ended first.
   */
  close(): void {
    if (this.#file) {
      try {
        this.#file.end();
      } catch { /* the failure that left the file open is the one reported */ }
    }
    const p = this.#handle.release();
    if (p === null) return;
    check(lib().ext4_close(p), "close ext4 filesystem");
  }
}
