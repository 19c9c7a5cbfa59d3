/**
 * `native/src/lsmt.h`: LSMT headers, read-only layers, writable layers and
 * commit (spec §2).
 *
 * @module
 */

import { check } from "./errors.ts";
import type { NativeFile, NativeSink } from "./file.ts";
import { Handle } from "./handle.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";
import { addressOf, copyStruct, cStringAt, u64At, view } from "./struct.ts";

const lib = lazyLibrary({
  lsmt_header_decode: { parameters: ["buffer", "usize", "buffer"], result: "i32" },
  lsmt_ro_open: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  lsmt_ro_header: { parameters: ["pointer"], result: "pointer" },
  lsmt_ro_trailer: { parameters: ["pointer"], result: "pointer" },
  lsmt_ro_index: { parameters: ["pointer", "buffer"], result: "pointer" },
  lsmt_ro_close: { parameters: ["pointer"], result: "void" },
  lsmt_rw_create: { parameters: ["buffer", "buffer", "buffer", "buffer"], result: "i32" },
  lsmt_rw_open: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  lsmt_rw_pwrite: { parameters: ["pointer", "buffer", "usize", "u64", "u8"], result: "i64" },
  lsmt_rw_discard: { parameters: ["pointer", "u64", "u64", "u8"], result: "i32" },
  lsmt_rw_pread: { parameters: ["pointer", "buffer", "usize", "u64"], result: "i64" },
  lsmt_rw_header: { parameters: ["pointer"], result: "pointer" },
  lsmt_rw_set_sync: { parameters: ["pointer", "i32"], result: "void" },
  lsmt_rw_close: { parameters: ["pointer"], result: "i32" },
  lsmt_commit: { parameters: ["pointer", "pointer", "buffer"], result: "i32" },
  lsmt_seal: { parameters: ["buffer", "buffer"], result: "i64" },
});

/** LSMT header/trailer flag bits (spec §2.2). */
export const LsmtFlag = { HEADER: 0x01, DATA: 0x02, SEALED: 0x04, SPARSE: 0x10 } as const;

/** One decoded 4096-byte LSMT header or trailer (spec §2.1). */
export interface LsmtHeader {
  flags: number;
  indexOffset: number;
  indexSize: number;
  virtualSize: number;
  uuid: string;
  parentUuid: string;
  version: number;
  subVersion: number;
  userTag: string;
}

const HEADER_SIZE = 368;

function readHeader(ptr: Deno.PointerObject | null): LsmtHeader {
  if (ptr === null) throw new TypeError("lsmt header pointer is null");
  return headerFromStruct(copyStruct(ptr, HEADER_SIZE));
}

function headerFromStruct(b: Uint8Array): LsmtHeader {
  const v = view(b);
  return {
    flags: v.getUint32(0, true),
    indexOffset: u64At(v, 8),
    indexSize: u64At(v, 16),
    virtualSize: u64At(v, 24),
    uuid: cStringAt(b, 32, 37),
    parentUuid: cStringAt(b, 69, 37),
    version: v.getUint8(106),
    subVersion: v.getUint8(107),
    userTag: cStringAt(b, 108, 257),
  };
}

/**
 * Decodes the 4096-byte LSMT record at the start of `bytes`.
 *
 * @throws {CorruptDataError} when the magics do not match (not an LSMT file)
 */
export function decodeLsmtHeader(bytes: Uint8Array<ArrayBuffer>, name: string): LsmtHeader {
  const out = new Uint8Array(HEADER_SIZE);
  check(lib().lsmt_header_decode(bytes, BigInt(bytes.byteLength), out), `decode ${name}`);
  return headerFromStruct(out);
}

/** A committed or sealed read-only layer. */
export class ReadOnlyLayer {
  readonly #handle: Handle;
  readonly name: string;

  constructor(ptr: Deno.PointerObject, name: string) {
    this.#handle = new Handle(ptr, `layer ${name}`);
    this.name = name;
  }

  /** The header at offset 0. */
  header(): LsmtHeader {
    return readHeader(lib().lsmt_ro_header(this.#handle.ptr));
  }

  /** The trailer, whose index fields and virtual size are in force. */
  trailer(): LsmtHeader {
    return readHeader(lib().lsmt_ro_trailer(this.#handle.ptr));
  }

  /** Number of valid segments in the index. */
  segmentCount(): number {
    const count = new BigUint64Array(1);
    lib().lsmt_ro_index(this.#handle.ptr, new Uint8Array(count.buffer));
    return Number(count[0]);
  }

  /** Hands ownership to a native owner (an image). */
  take(): Deno.PointerObject {
    return this.#handle.take();
  }

  close(): void {
    const p = this.#handle.release();
    if (p !== null) lib().lsmt_ro_close(p);
  }
}

/** Opens an unwrapped LSMT file (ownership of `src` passes to the layer). */
export function openReadOnlyLayer(src: NativeFile): ReadOnlyLayer {
  const name = src.name;
  const out = outPointer();
  check(lib().lsmt_ro_open(src.take(), 1, out), `open layer ${name}`);
  return new ReadOnlyLayer(readPointer(out), name);
}

/** Options for {@linkcode createWritableLayer}. */
export interface WritableLayerOptions {
  /** Bytes; 0 inherits the size of the layers below when stacked. */
  virtualSize: number;
  sparse?: boolean;
  uuid?: string;
  parentUuid?: string;
}

/** Options for {@linkcode WritableLayer.commit}. */
export interface CommitOptions {
  uuid?: string;
  parentUuid?: string;
  userTag?: string;
}

/** A writable (append or sparse) layer: a data file plus an index log. */
export class WritableLayer {
  readonly #handle: Handle;
  readonly name: string;

  constructor(ptr: Deno.PointerObject, name: string) {
    this.#handle = new Handle(ptr, `writable layer ${name}`);
    this.name = name;
  }

  /** Writes `buf` at byte `offset` (both multiples of 512). */
  pwrite(buf: Uint8Array<ArrayBuffer>, offset: number, tag = 0): void {
    const rc = lib().lsmt_rw_pwrite(
      this.#handle.ptr,
      buf,
      BigInt(buf.byteLength),
      BigInt(offset),
      tag,
    );
    check(rc, `write ${this.name} at ${offset}`);
  }

  /** Discards `length` bytes at `offset`: they read as zeros afterwards. */
  discard(offset: number, length: number, tag = 0): void {
    const rc = lib().lsmt_rw_discard(this.#handle.ptr, BigInt(offset), BigInt(length), tag);
    check(rc, `discard ${this.name} at ${offset}`);
  }

  /** Reads this layer alone; returns bytes read. */
  pread(buf: Uint8Array<ArrayBuffer>, offset: number): number {
    const rc = lib().lsmt_rw_pread(this.#handle.ptr, buf, BigInt(buf.byteLength), BigInt(offset));
    return Number(check(rc, `read ${this.name} at ${offset}`));
  }

  /** The data file's header. */
  header(): LsmtHeader {
    return readHeader(lib().lsmt_rw_header(this.#handle.ptr));
  }

  /** Compacts the layer into `out` as a committed layer (spec §2.5). `out` stays the caller's. */
  commit(out: NativeSink, options: CommitOptions = {}): void {
    const strings = [options.uuid, options.parentUuid, options.userTag].map((s) =>
      s === undefined ? null : cString(s)
    );
    const opts = new BigUint64Array(strings.map(addressOf));
    const rc = lib().lsmt_commit(this.#handle.ptr, out.ptr, new Uint8Array(opts.buffer));
    check(rc, `commit ${this.name}`);
  }

  /** The native pointer, for a call that borrows it (valid until closed or its owner closes). */
  get ptr(): Deno.PointerObject {
    return this.#handle.ptr;
  }

  /**
   * `false` makes closing skip the fsync: for scratch layers committed and
   * deleted at once, where forcing the data to disk first only costs time.
   */
  setSync(sync: boolean): void {
    lib().lsmt_rw_set_sync(this.#handle.ptr, sync ? 1 : 0);
  }

  /** Hands ownership to a native owner (an image). */
  take(): Deno.PointerObject {
    return this.#handle.take();
  }

  /** Flushes and closes both files. */
  close(): void {
    const p = this.#handle.release();
    if (p !== null) check(lib().lsmt_rw_close(p), `close ${this.name}`);
  }
}

/** Creates a new writable layer; both files must not exist. */
export function createWritableLayer(
  data: string,
  index: string,
  options: WritableLayerOptions,
): WritableLayer {
  const uuid = options.uuid === undefined ? null : cString(options.uuid);
  const parent = options.parentUuid === undefined ? null : cString(options.parentUuid);
  const opts = new BigUint64Array([
    BigInt(options.virtualSize),
    options.sparse ? 1n : 0n,
    addressOf(uuid),
    addressOf(parent),
  ]);
  const out = outPointer();
  const rc = lib().lsmt_rw_create(cString(data), cString(index), new Uint8Array(opts.buffer), out);
  check(rc, `create writable layer ${data}`);
  return new WritableLayer(readPointer(out), data);
}

/** Opens an existing writable layer, replaying its index. */
export function openWritableLayer(data: string, index: string): WritableLayer {
  const out = outPointer();
  check(lib().lsmt_rw_open(cString(data), cString(index), out), `open writable layer ${data}`);
  return new WritableLayer(readPointer(out), data);
}

/**
 * Seals the writable layer `data` (+ `index`; ignored for a sparse layer) in
 * place into a read-only layer (spec §2.8): its index and a trailer are
 * appended to the data file. A file that already ends in this layer's seal
 * is left as it is. Both paths are copied for the call only.
 *
 * @returns the number of index records of the sealed layer
 * @throws {NotFoundError} when `data` does not exist
 * @throws {CorruptDataError} when `data` is not a writable layer's data file
 */
export function sealWritableLayer(data: string, index: string): number {
  const rc = lib().lsmt_seal(cString(data), cString(index));
  return Number(check(rc, `seal ${data}`));
}
