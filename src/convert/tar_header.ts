import { CorruptDataError } from "../errors.ts";

/** Size of a tar header and of the blocks bodies are padded to. */
export const BLOCK = 512;

/** One 512-byte header as stored (POSIX ustar, GNU or v7), numbers decoded. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

// Field offsets and lengths of the ustar header (POSIX.1-1988 / pax).
const NAME = [0, 100];
const MODE = [100, 8];
const UID = [108, 8];
const GID = [116, 8];
const SIZE = [124, 12];
const MTIME = [136, 12];
const CHKSUM = [148, 8];
const TYPEFLAG = 156;
const LINKNAME = [157, 100];
const MAGIC = [257, 8];
const DEVMAJOR = [329, 8];
const DEVMINOR = [337, 8];
const PREFIX = [345, 155];

const text = new TextDecoder();

/** The NUL-terminated string in a field. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return text.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function field(b: Uint8Array, [off, len]: number[]): Uint8Array {
  return b.subarray(off, off + len);
}

/**
 * A numeric field: octal digits padded with spaces or NULs, or GNU's
 * base-256 form (high bit of the first byte set; 0xff starts a negative).
 */
function number(b: Uint8Array, f: number[], what: string, at: number): number {
  const bytes = field(b, f);
  if (bytes[0] & 0x80) {
    const negative = bytes[0] === 0xff;
    let v = 0n;
    for (let i = 0; i < bytes.length; i++) {
      v = (v << 8n) | BigInt(i === 0 ? bytes[0] & 0x7f : bytes[i]);
    }
    if (negative) v -= 1n << BigInt(8 * bytes.length - 1);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new CorruptDataError(`tar header at ${at}: ${what} ${v} is out of range`);
    }
    return Number(v);
  }
  // Byte by byte: this runs several times per entry, tens of thousands of times a layer.
  let start = 0, end = bytes.length;
  while (start < end && bytes[start] === 0x20) start++;
  while (end > start && (bytes[end - 1] === 0 || bytes[end - 1] === 0x20)) end--;
  let v = 0;
  for (let i = start; i < end; i++) {
    const digit = bytes[i] - 0x30;
    if (digit < 0 || digit > 7) {
      const s = text.decode(bytes.subarray(start, end));
      throw new CorruptDataError(`tar header at ${at}: ${what} '${s}' is not an octal number`);
    }
    v = v * 8 + digit;
  }
  return v;
}

/** `ustar\0` then version `00`: POSIX ustar, whose prefix field extends the name. */
const USTAR = [0x75, 0x73, 0x74, 0x61, 0x72, 0, 0x30, 0x30];

function isPosixUstar(b: Uint8Array): boolean {
  for (let i = 0; i < USTAR.length; i++) if (b[MAGIC[0] + i] !== USTAR[i]) return false;
  return true;
}

/** True for the all-zero block that ends an archive. */
export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Decodes the header block `b` found at stream offset `at`.
 *
 * @throws {CorruptDataError} for a bad checksum or a malformed number
 */
export function decodeHeader(b: Uint8Array, at: number): RawHeader {
  const stored = number(b, CHKSUM, "checksum", at);
  let unsigned = 0, signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= CHKSUM[0] && i < CHKSUM[0] + CHKSUM[1] ? 0x20 : b[i];
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  if (stored !== unsigned && stored !== signed) {
    throw new CorruptDataError(
      `tar header at ${at}: checksum ${stored} does not match ${unsigned} (not a tar, or damaged)`,
    );
  }
  let name = cString(field(b, NAME));
  // The prefix field exists only in POSIX ustar; GNU keeps times there.
  if (isPosixUstar(b)) {
    const prefix = cString(field(b, PREFIX));
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: number(b, MODE, "mode", at),
    uid: number(b, UID, "uid", at),
    gid: number(b, GID, "gid", at),
    size: number(b, SIZE, "size", at),
    mtime: number(b, MTIME, "mtime", at),
    typeflag: b[TYPEFLAG] === 0 ? "0" : String.fromCharCode(b[TYPEFLAG]),
    linkname: cString(field(b, LINKNAME)),
    devmajor: number(b, DEVMAJOR, "devmajor", at),
    devminor: number(b, DEVMINOR, "devminor", at),
  };
}

/**
 * Parses pax extended header records (`"%d %s=%s\n"`, the length counting
 * the whole record). Values stay bytes: xattr values are binary.
 *
 * @throws {CorruptDataError} for a malformed record
 */
export function parsePax(data: Uint8Array, at: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, pos);
    const len = space < 0 ? NaN : Number(text.decode(data.subarray(pos, space)));
    if (!Number.isInteger(len) || len <= space - pos || pos + len > data.length) {
      throw new CorruptDataError(`pax header at ${at}: malformed record at byte ${pos}`);
    }
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0 || data[pos + len - 1] !== 0x0a) {
      throw new CorruptDataError(`pax header at ${at}: malformed record at byte ${pos}`);
    }
    out.set(text.decode(record.subarray(0, eq)), record.subarray(eq + 1));
    pos += len;
  }
  return out;
}
