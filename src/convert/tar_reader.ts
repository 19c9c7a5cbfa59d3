import { CorruptDataError, UnsupportedError } from "../errors.ts";
import { ByteReader } from "./_byte_reader.ts";
import {
  BLOCK,
  cString,
  decodeHeader,
  isZeroBlock,
  parsePax,
  type RawHeader,
} from "./tar_header.ts";

/** Kinds of entry a layer tar holds. */
export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** One tar entry with pax and GNU extensions resolved. */
export interface TarEntry {
  /** Name as in the archive (pax `path`, GNU long name, or prefix + name). */
  path: string;
  type: TarEntryType;
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  /** Bytes of content (regular files). */
  size: number;
  /** Symlink target or hard link name (pax `linkpath`, GNU long link). */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** From `SCHILY.xattr.*` (GNU tar, Go) and `LIBARCHIVE.xattr.*` (bsdtar) records. */
  xattrs: [name: string, value: Uint8Array<ArrayBuffer>][];
  /** Offset of the entry's first header in the tar stream, for messages. */
  offset: number;
}

/** A {@linkcode TarEntry} whose content is read with `body()` before the next entry. */
export interface TarEntryWithBody extends TarEntry {
  /** The content in chunks as they arrive (views into the stream's buffers). */
  body(): AsyncGenerator<Uint8Array<ArrayBuffer>>;
  /**
   * The whole content at once when it is already buffered (a view, valid
   * until the next entry), else undefined: then read it with `body()`. The
   * fast path for the many small files of a layer.
   */
  bufferedBody(): Uint8Array<ArrayBuffer> | undefined;
}

const isGnuSparse = (key: string) => key.startsWith("GNU.sparse.");

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

const META_LIMIT = 1 << 20; // pax and GNU long-name bodies
const BODY_CHUNK = 1 << 20;
const text = new TextDecoder();

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

async function readMeta(r: ByteReader, h: RawHeader, at: number): Promise<Uint8Array> {
  if (h.size > META_LIMIT) {
    throw new CorruptDataError(`tar header at ${at}: ${h.size}-byte extended header`);
  }
  const data = await r.read(h.size);
  if (data.length < h.size || (await r.skip(padding(h.size))) < padding(h.size)) {
    throw new CorruptDataError(`truncated tar: extended header at ${at} is cut short`);
  }
  return data;
}

function base64(s: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

function xattrsOf(pax: Map<string, Uint8Array>): TarEntry["xattrs"] {
  const out: TarEntry["xattrs"] = [];
  for (const [key, value] of pax) {
    if (key.startsWith("SCHILY.xattr.")) {
      out.push([key.slice(13), Uint8Array.from(value)]);
    } else if (key.startsWith("LIBARCHIVE.xattr.")) {
      out.push([decodeURIComponent(key.slice(17)), base64(text.decode(value))]);
    }
  }
  return out;
}

function paxNumber(pax: Map<string, Uint8Array>, key: string, fallback: number, at: number) {
  const v = pax.get(key);
  if (v === undefined) return fallback;
  const n = Number(text.decode(v));
  if (!Number.isFinite(n)) throw new CorruptDataError(`pax header at ${at}: bad ${key}`);
  return Math.floor(n);
}

/**
 * Reads a tar stream entry by entry (POSIX ustar and pax, GNU and v7
 * headers; pax `path`, `linkpath`, `size`, `uid`, `gid`, `mtime` and xattr
 * records; GNU long names `L`/`K`; base-256 numbers). Each entry's body
 * must be read (or is skipped) before the next entry is produced.
 *
 * @throws {CorruptDataError} for a bad header checksum or a stream cut short
 * @throws {UnsupportedError} for GNU sparse or multi-volume entries
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
): AsyncGenerator<TarEntryWithBody> {
  const r = new ByteReader(stream);
  let global = new Map<string, Uint8Array>();
  let pax = new Map<string, Uint8Array>();
  let longName: string | undefined, longLink: string | undefined;
  let start = -1;
  try {
    for (;;) {
      const at = r.position;
      if (start < 0) start = at;
      const block = await r.read(BLOCK);
      if (block.length === 0 && start === at) return; // no end-of-archive blocks
      if (block.length < BLOCK) {
        throw new CorruptDataError(`truncated tar: header at ${at} is cut short`);
      }
      if (isZeroBlock(block)) {
        // Read to the end: a gzip or zstd stream checks its CRC only there.
        while ((await r.skip(BODY_CHUNK)) > 0) { /* padding after the end marker */ }
        return;
      }
      const h = decodeHeader(block, at);
      switch (h.typeflag) {
        case "x":
          pax = parsePax(await readMeta(r, h, at), at);
          continue;
        case "g":
          global = new Map([...global, ...parsePax(await readMeta(r, h, at), at)]);
          continue;
        case "L":
          longName = cString(await readMeta(r, h, at));
          continue;
        case "K":
          longLink = cString(await readMeta(r, h, at));
          continue;
        case "V": // volume label
          await readMeta(r, h, at);
          start = -1;
          continue;
      }
      const all = global.size === 0 ? pax : pax.size === 0 ? global : new Map([...global, ...pax]);
      const name = all.has("path") ? text.decode(all.get("path")) : longName ?? h.name;
      const type = TYPES[h.typeflag];
      if (type === undefined || (all.size > 0 && [...all.keys()].some(isGnuSparse))) {
        throw new UnsupportedError(
          `tar entry ${name} at ${start}: type '${h.typeflag}' (GNU sparse or multi-volume) is not supported`,
        );
      }
      const size = paxNumber(all, "size", h.size, at);
      const entry: TarEntry = {
        path: name,
        type,
        mode: h.mode & 0o7777,
        uid: paxNumber(all, "uid", h.uid, at),
        gid: paxNumber(all, "gid", h.gid, at),
        mtime: paxNumber(all, "mtime", h.mtime, at),
        size,
        linkname: all.has("linkpath") ? text.decode(all.get("linkpath")) : longLink ?? h.linkname,
        devmajor: h.devmajor,
        devminor: h.devminor,
        xattrs: all.size > 0 ? xattrsOf(all) : [],
        offset: start,
      };
      if (pax.size > 0) pax = new Map();
      longName = longLink = undefined;
      start = -1;
      let left = size;
      yield {
        ...entry,
        async *body() {
          while (left > 0) {
            const chunk = await r.readSome(Math.min(left, BODY_CHUNK));
            if (chunk === null) {
              throw new CorruptDataError(
                `truncated tar: entry ${name} ends ${left} bytes before its size ${size}`,
              );
            }
            left -= chunk.byteLength;
            yield chunk;
          }
        },
        bufferedBody() {
          const all = left === size ? r.takeBuffered(size) : undefined;
          if (all) left = 0;
          return all;
        },
      };
      const rest = left + padding(size);
      const skipped = await r.skip(rest);
      if (skipped < rest) {
        throw new CorruptDataError(
          `truncated tar: entry ${name} is cut short (${rest - skipped} bytes missing)`,
        );
      }
    }
  } finally {
    await r.cancel();
  }
}
