import { type NativeFile, openFile } from "../../ffi/file.ts";
import { decodeLsmtHeader, LsmtFlag, type LsmtHeader, openReadOnlyLayer } from "../../ffi/lsmt.ts";
import { detectTar, type TarPayload, unwrapTar } from "../../ffi/tar.ts";
import { isZfile, openZfile, type ZfileInfo, zfileInfo } from "../../ffi/zfile.ts";
import { CorruptDataError } from "../errors.ts";

/** The role an LSMT file plays (spec §2.2 flag table). */
export type LsmtRole =
  | "committed"
  | "sealed"
  | "writable data"
  | "writable sparse data"
  | "writable index";

/** What `overlaybd inspect` reports about a file, outermost wrapping first. */
export interface Inspection {
  path: string;
  /** Size of the file on disk in bytes. */
  size: number;
  /** The wrapping chain, e.g. `["tar", "zfile", "lsmt committed"]`. */
  chain: string[];
  tar?: TarPayload;
  zfile?: ZfileInfo;
  lsmt?: {
    role: LsmtRole;
    header: LsmtHeader;
    /** The trailer of committed and sealed layers. */
    trailer?: LsmtHeader;
    /** Valid index records (committed/sealed) or logged records (writable index). */
    records?: number;
    virtualSize: number;
  };
}

const LSMT_HEADER_SIZE = 4096;
const LSMT_RECORD_SIZE = 16;

function readAt(file: NativeFile, offset: number, length: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(length);
  const n = file.pread(buf, offset);
  return buf.subarray(0, n);
}

function tryHeader(bytes: Uint8Array<ArrayBuffer>, name: string): LsmtHeader | null {
  if (bytes.byteLength < LSMT_HEADER_SIZE) return null;
  try {
    return decodeLsmtHeader(bytes, name);
  } catch (err) {
    if (err instanceof CorruptDataError) return null;
    throw err;
  }
}

/** Describes the LSMT file `file`; takes ownership of it. */
function inspectLsmt(file: NativeFile, header: LsmtHeader): Inspection["lsmt"] {
  if ((header.flags & LsmtFlag.DATA) === 0) {
    const records = Math.max(0, Math.floor((file.size - LSMT_HEADER_SIZE) / LSMT_RECORD_SIZE));
    file.close();
    return { role: "writable index", header, records, virtualSize: header.virtualSize };
  }
  const tail = file.size >= 2 * LSMT_HEADER_SIZE
    ? tryHeader(readAt(file, file.size - LSMT_HEADER_SIZE, LSMT_HEADER_SIZE), file.name)
    : null;
  const sealedTrailer = tail !== null && (tail.flags & LsmtFlag.HEADER) === 0 &&
    (tail.flags & LsmtFlag.SEALED) !== 0;
  if (!sealedTrailer) {
    file.close();
    const role = (header.flags & LsmtFlag.SPARSE) !== 0 ? "writable sparse data" : "writable data";
    return { role, header, virtualSize: header.virtualSize };
  }
  const layer = openReadOnlyLayer(file);
  try {
    const trailer = layer.trailer();
    const role = (header.flags & LsmtFlag.SEALED) !== 0 ? "committed" : "sealed";
    return {
      role,
      header,
      trailer,
      records: layer.segmentCount(),
      virtualSize: trailer.virtualSize,
    };
  } finally {
    layer.close();
  }
}

/**
 * Identifies a file — tar wrapper, ZFile, LSMT committed/sealed/writable layer,
 * or none of these — and decodes the headers of each level.
 *
 * @throws {NotFoundError} when the file does not exist
 * @throws {CorruptDataError} when a level is recognised but damaged
 */
export function inspectFile(path: string): Inspection {
  let file = openFile(path);
  const result: Inspection = { path, size: file.size, chain: [] };
  try {
    const tar = detectTar(file);
    if (tar) {
      result.tar = tar;
      result.chain.push("tar");
      file = unwrapTar(file);
    }
    if (isZfile(file)) {
      file = openZfile(file);
      result.zfile = zfileInfo(file);
      result.chain.push("zfile");
    }
    const header = tryHeader(readAt(file, 0, LSMT_HEADER_SIZE), path);
    if (header === null || (header.flags & LsmtFlag.HEADER) === 0) {
      result.chain.push("data");
      return result;
    }
    result.lsmt = inspectLsmt(file, header);
    result.chain.push(`lsmt ${result.lsmt?.role}`);
    return result;
  } finally {
    file.close();
  }
}
