/**
 * `native/src/zfile.h`: ZFile detection, decoding (as a {@linkcode NativeFile})
 * and the compressing writer (as a {@linkcode NativeSink}).
 *
 * @module
 */

import { check } from "./errors.ts";
import {
  type NativeFile,
  NativeFile as File,
  type NativeSink,
  NativeSink as Sink,
} from "./file.ts";
import { lazyLibrary, outPointer, readPointer } from "./library.ts";
import { u64At, view } from "./struct.ts";

const lib = lazyLibrary({
  zfile_detect: { parameters: ["pointer"], result: "i32" },
  zfile_open: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  zfile_get_info: { parameters: ["pointer", "buffer"], result: "i32" },
  zfile_verify: { parameters: ["pointer", "buffer"], result: "i32" },
  zfile_writer_open: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
});

/** Codec of a ZFile (spec §1.2 `algo`). */
export type ZfileAlgorithm = "lz4" | "zstd";

const ALGO_CODE: Record<ZfileAlgorithm, number> = { lz4: 1, zstd: 2 };
const ALGO_NAME: Record<number, string> = { 0: "mini-lzo", 1: "lz4", 2: "zstd" };

/** One header or trailer record (spec §1.2). */
export interface ZfileRecord {
  flags: number;
  digest: number;
  indexOffset: number;
  indexSize: number;
  originalFileSize: number;
  indexCrc: number;
  blockSize: number;
  algorithm: string;
  verify: boolean;
  dictSize: number;
}

/** What the decoder selected: header, trailer (when the header was not rewritten), block count. */
export interface ZfileInfo {
  header: ZfileRecord;
  trailer: ZfileRecord | null;
  blocks: number;
  dataOffset: number;
}

const RECORD_SIZE = 56;
const INFO_SIZE = 136;

function decodeRecord(v: DataView, at: number): ZfileRecord {
  return {
    digest: v.getUint32(at + 0, true),
    // Only bits 0..5 mean anything (spec §1.3); old files have garbage above.
    flags: Number(v.getBigUint64(at + 8, true) & 0xffn),
    indexOffset: u64At(v, at + 16),
    indexSize: u64At(v, at + 24),
    originalFileSize: u64At(v, at + 32),
    indexCrc: v.getUint32(at + 40, true),
    blockSize: v.getUint32(at + 44, true),
    algorithm: ALGO_NAME[v.getUint8(at + 48)] ?? `unknown(${v.getUint8(at + 48)})`,
    verify: v.getUint8(at + 51) === 1,
    dictSize: v.getUint32(at + 52, true),
  };
}

/** Whether `file` starts with a ZFile header. @throws {CorruptDataError} when its digest is wrong */
export function isZfile(file: NativeFile): boolean {
  return check(lib().zfile_detect(file.ptr), `detect zfile ${file.name}`) === 1;
}

/** Opens `src` (ownership passes to the decoder) as a ZFile; the result reads the original bytes. */
export function openZfile(src: NativeFile): NativeFile {
  const name = src.name;
  const out = outPointer();
  check(lib().zfile_open(src.take(), 1, out), `open zfile ${name}`);
  return new File(readPointer(out), name);
}

/** Header, trailer and block count of a decoder returned by {@linkcode openZfile}. */
export function zfileInfo(z: NativeFile): ZfileInfo {
  const buf = new Uint8Array(INFO_SIZE);
  check(lib().zfile_get_info(z.ptr, buf), `zfile info ${z.name}`);
  const v = view(buf);
  return {
    header: decodeRecord(v, 0),
    trailer: v.getUint8(112) === 1 ? decodeRecord(v, RECORD_SIZE) : null,
    blocks: u64At(v, 120),
    dataOffset: u64At(v, 128),
  };
}

/** Checks every block's CRC and decompression; returns the first bad block, or null. */
export function verifyZfile(z: NativeFile): number | null {
  const bad = new BigUint64Array(1);
  const rc = lib().zfile_verify(z.ptr, new Uint8Array(bad.buffer));
  if (rc === 0) return null;
  if (rc === -5) return Number(bad[0]);
  check(rc, `verify zfile ${z.name}`);
  return null;
}

/** Options of the ZFile writer (defaults: lz4, 4 KiB blocks, CRC, header rewritten). */
export interface ZfileWriterOptions {
  algorithm?: ZfileAlgorithm;
  blockSize?: number;
  verify?: boolean;
  overwriteHeader?: boolean;
}

/** A sink that compresses into `out` (ownership passes to the writer); `close()` finishes the file. */
export function zfileWriter(out: NativeSink, options: ZfileWriterOptions = {}): NativeSink {
  const opts = new Uint8Array(12);
  const v = view(opts);
  v.setUint8(0, ALGO_CODE[options.algorithm ?? "lz4"]);
  v.setUint32(4, options.blockSize ?? 4096, true);
  v.setUint8(8, options.verify === false ? 0 : 1);
  v.setUint8(9, options.overwriteHeader === false ? 0 : 1);
  const name = out.name;
  const w = outPointer();
  check(lib().zfile_writer_open(out.take(), 1, opts, w), `zfile writer ${name}`);
  return new Sink(readPointer(w), name);
}
