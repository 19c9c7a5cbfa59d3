/**
 * HPACK (RFC 7541) through the npm codec `hpack.js`: a pure-JS encoder and
 * decoder with the static table, dynamic table and Huffman coding. It needs
 * nothing from `node:http2`, which is what makes it usable here.
 *
 * @module
 */

import hpackJs from "hpack.js";

/** One header field, name lower-case. */
export type HeaderField = [name: string, value: string];

interface HpackField {
  name: string;
  value: string;
  neverIndex?: boolean;
}

interface HpackStream {
  write(data: unknown): boolean;
  read(): unknown;
  execute(cb?: (err: Error | null) => void): void;
  updateTableSize(size: number): void;
  on(event: "error", fn: (err: Error) => void): void;
}

interface HpackModule {
  compressor: { create(o: { table: { size: number } }): HpackStream };
  decompressor: { create(o: { table: { size: number } }): HpackStream };
}

const hpack = hpackJs as unknown as HpackModule;

/** Default SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2). */
export const DEFAULT_TABLE_SIZE = 4096;

/** Decodes header blocks of one connection; its dynamic table lives across blocks. */
export interface HeaderDecoder {
  /**
   * Decodes one complete header block.
   *
   * @throws {Error} on a malformed block; the connection must then end with COMPRESSION_ERROR
   */
  decode(block: Uint8Array): HeaderField[];
}

/** Encodes header blocks of one connection. */
export interface HeaderEncoder {
  /** Encodes one header block. */
  encode(fields: HeaderField[]): Uint8Array<ArrayBuffer>;
  /** Applies the peer's SETTINGS_HEADER_TABLE_SIZE (only shrinking below our 4096 matters). */
  setTableSize(size: number): void;
}

/** Makes a decoder with the default dynamic table size. */
export function createHeaderDecoder(): HeaderDecoder {
  const d = hpack.decompressor.create({ table: { size: DEFAULT_TABLE_SIZE } });
  let failure: Error | null = null;
  // hpack.js reports errors by event when no callback is given; the callback form defers.
  d.on("error", (err) => failure ??= err);
  return {
    decode(block) {
      if (failure) throw failure;
      d.write(toBuffer(block));
      d.execute();
      const fields: HeaderField[] = [];
      for (let f = d.read() as HpackField | null; f !== null; f = d.read() as HpackField | null) {
        fields.push([f.name, f.value]);
      }
      if (failure) throw failure;
      return fields;
    },
  };
}

/** Makes an encoder with the default dynamic table size. */
export function createHeaderEncoder(): HeaderEncoder {
  const c = hpack.compressor.create({ table: { size: DEFAULT_TABLE_SIZE } });
  return {
    encode(fields) {
      c.write(fields.map(([name, value]) => ({ name, value })));
      const out = c.read() as Uint8Array | null;
      return out === null ? new Uint8Array(0) : new Uint8Array(out);
    },
    setTableSize(size) {
      if (size < DEFAULT_TABLE_SIZE) c.updateTableSize(size);
    },
  };
}

function toBuffer(bytes: Uint8Array): Uint8Array {
  // hpack.js's reader calls Buffer methods on what it is given.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
