/**
 * `native/src/trace.h`: the trace file format (spec §8.3) and the recorder
 * that collects a device's lower-layer reads (§8.2).
 *
 * A {@linkcode TraceRecorder} owns one native reference; every layer opened
 * through it with {@linkcode openTracedLayer} or
 * {@linkcode openTracedLayerAsync} holds another, so the recorder may be
 * closed before or after the image that reads through it.
 *
 * @module
 */

import { check } from "./errors.ts";
import type { NativeFile } from "./file.ts";
import { Handle } from "./handle.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";
import { ReadOnlyLayer } from "./lsmt.ts";
import { cStringAt, view } from "./struct.ts";

const lib = lazyLibrary({
  obd_trace_decode: { parameters: ["buffer", "usize", "buffer", "usize"], result: "i64" },
  obd_trace_encode: { parameters: ["buffer", "usize", "buffer", "usize"], result: "i64" },
  obd_trace_has_magic: { parameters: ["buffer", "usize"], result: "i32" },
  /** The recorder is freed when the caller's reference and its layers' are gone. */
  obd_trace_recorder_create: { parameters: ["buffer"], result: "i32" },
  obd_trace_recorder_stop: { parameters: ["pointer"], result: "void" },
  obd_trace_recorder_count: { parameters: ["pointer"], result: "u64" },
  obd_trace_recorder_dropped: { parameters: ["pointer"], result: "u64" },
  obd_trace_recorder_encode: { parameters: ["pointer", "buffer", "usize"], result: "i64" },
  obd_trace_recorder_release: { parameters: ["pointer"], result: "void" },
  obd_trace_layer_open_path: {
    parameters: ["buffer", "pointer", "u32", "buffer"],
    result: "i32",
  },
  /** Takes ownership of the file, also on failure; may wait for fetches. */
  obd_trace_call_layer_open: {
    parameters: ["pointer", "pointer", "u32", "buffer", "buffer", "usize"],
    result: "i32",
    nonblocking: true,
  },
});

const RECORD_SIZE = 24; // sizeof(obd_trace_record), pinned in ffi_layout.c
const HEADER_SIZE = 24;
const DETAIL_MAX = 512;

/** One trace record (spec §8.3). */
export interface TraceRecord {
  /** `R` (read) or `W` (write; never produced or replayed). */
  op: string;
  /** Position of the lower in the device config's `lowers` (0 = bottom). */
  layerIndex: number;
  /** Bytes read. */
  count: number;
  /** Byte offset in the layer's uncompressed LSMT file. */
  offset: number;
}

function toNumber(x: bigint, what: string): number {
  if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`trace record ${what} ${x} is beyond 2^53`);
  }
  return Number(x);
}

/**
 * Validates a whole trace file (magic, size, CRC32C) and returns its records.
 *
 * @throws {CorruptDataError} when any check fails
 */
export function decodeTrace(bytes: Uint8Array<ArrayBuffer>): TraceRecord[] {
  const n = Number(
    check(lib().obd_trace_decode(bytes, BigInt(bytes.byteLength), null, 0n), "decode trace"),
  );
  const out = new Uint8Array(n * RECORD_SIZE);
  check(lib().obd_trace_decode(bytes, BigInt(bytes.byteLength), out, BigInt(n)), "decode trace");
  const v = view(out);
  const records: TraceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * RECORD_SIZE;
    records.push({
      op: String.fromCharCode(out[at]),
      layerIndex: v.getUint32(at + 4, true),
      count: toNumber(v.getBigUint64(at + 8, true), "count"),
      offset: toNumber(v.getBigInt64(at + 16, true), "offset"),
    });
  }
  return records;
}

/** Encodes records as a trace file (zero padding, checksum computed). */
export function encodeTrace(records: readonly TraceRecord[]): Uint8Array<ArrayBuffer> {
  const recs = new Uint8Array(records.length * RECORD_SIZE);
  const v = view(recs);
  records.forEach((r, i) => {
    const at = i * RECORD_SIZE;
    recs[at] = r.op.charCodeAt(0);
    v.setUint32(at + 4, r.layerIndex, true);
    v.setBigUint64(at + 8, BigInt(r.count), true);
    v.setBigInt64(at + 16, BigInt(r.offset), true);
  });
  const out = new Uint8Array(HEADER_SIZE + recs.length);
  check(
    lib().obd_trace_encode(recs, BigInt(records.length), out, BigInt(out.length)),
    "encode trace",
  );
  return out;
}

/** Whether `bytes` begins with a trace header's magic (spec §8.1: else a prefetch list). */
export function hasTraceMagic(bytes: Uint8Array<ArrayBuffer>): boolean {
  return lib().obd_trace_has_magic(bytes, BigInt(bytes.byteLength)) === 1;
}

/** A native trace recorder; see the module doc for its lifetime. */
export class TraceRecorder {
  readonly #handle: Handle;

  private constructor(ptr: Deno.PointerObject) {
    this.#handle = new Handle(ptr, "trace recorder");
  }

  /** A recorder that is recording. */
  static create(): TraceRecorder {
    const out = outPointer();
    check(lib().obd_trace_recorder_create(out), "create trace recorder");
    return new TraceRecorder(readPointer(out));
  }

  /** The native pointer, borrowed by the layer openers. */
  get ptr(): Deno.PointerObject {
    return this.#handle.ptr;
  }

  /** Stops recording; later reads are not kept. Idempotent. */
  stop(): void {
    lib().obd_trace_recorder_stop(this.#handle.ptr);
  }

  /** Records kept so far. */
  get count(): number {
    return Number(lib().obd_trace_recorder_count(this.#handle.ptr));
  }

  /** Reads that could not be kept (past the native bound of 4 Mi records). */
  get dropped(): number {
    return Number(lib().obd_trace_recorder_dropped(this.#handle.ptr));
  }

  /** The records kept so far as a trace file. */
  encode(): Uint8Array<ArrayBuffer> {
    for (;;) {
      const need = Number(lib().obd_trace_recorder_encode(this.#handle.ptr, null, 0n));
      const buf = new Uint8Array(need);
      const got = Number(
        check(
          lib().obd_trace_recorder_encode(this.#handle.ptr, buf, BigInt(need)),
          "encode trace",
        ),
      );
      if (got === need) return buf;
      // Still recording: records arrived between the two calls.
    }
  }

  /** Drops this reference; layers keep theirs. Idempotent. */
  close(): void {
    const p = this.#handle.release();
    if (p !== null) lib().obd_trace_recorder_release(p);
  }
}

/** Opens the local layer file at `path`, recording its LSMT reads as `layerIndex`. */
export function openTracedLayer(
  path: string,
  recorder: TraceRecorder,
  layerIndex: number,
): ReadOnlyLayer {
  const out = outPointer();
  check(
    lib().obd_trace_layer_open_path(cString(path), recorder.ptr, layerIndex, out),
    `open layer ${path}`,
  );
  return new ReadOnlyLayer(readPointer(out), path);
}

/**
 * Opens a layer blob (tar → ZFile → LSMT) on a worker thread, recording its
 * LSMT reads as `layerIndex`; ownership of `raw` passes on, also on failure.
 * Use for cached remote blobs, whose reads may wait for a fetch.
 */
export async function openTracedLayerAsync(
  raw: NativeFile,
  recorder: TraceRecorder,
  layerIndex: number,
): Promise<ReadOnlyLayer> {
  const name = raw.name;
  const out = outPointer();
  const detail = new Uint8Array(DETAIL_MAX);
  const rc = await lib().obd_trace_call_layer_open(
    raw.take(),
    recorder.ptr,
    layerIndex,
    out,
    detail,
    BigInt(DETAIL_MAX),
  );
  check(rc, `open layer ${name}`, cStringAt(detail, 0, DETAIL_MAX));
  return new ReadOnlyLayer(readPointer(out), name);
}
