/**
 * `native/src/file.h`: the read-only byte sources (`obd_file`) and sinks
 * (`obd_sink`) that every native format module reads from and writes to.
 *
 * Ownership: a {@linkcode NativeFile} or {@linkcode NativeSink} owns its
 * native object until `close()`, or until it is handed to a native wrapper
 * that takes ownership (`take()`), after which it must not be used.
 *
 * @module
 */

import { check } from "./errors.ts";
import { Handle } from "./handle.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";

const lib = lazyLibrary({
  obd_file_open_path: { parameters: ["buffer", "buffer"], result: "i32" },
  obd_file_size: { parameters: ["pointer"], result: "u64" },
  obd_file_pread: { parameters: ["pointer", "buffer", "usize", "u64"], result: "i64" },
  obd_file_close: { parameters: ["pointer"], result: "void" },
  obd_sink_open_path: { parameters: ["buffer", "u32", "buffer"], result: "i32" },
  obd_sink_write: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  obd_sink_close: { parameters: ["pointer"], result: "i32" },
  obd_copy: { parameters: ["pointer", "pointer"], result: "i32" },
});

/** A native `obd_file`: random-access, read-only, thread-safe. */
export class NativeFile {
  readonly #handle: Handle;
  /** Logical size in bytes. */
  readonly size: number;
  /** What native error messages call this file. */
  readonly name: string;

  /** Wraps a pointer returned by a native opener; the object now owns it. */
  constructor(ptr: Deno.PointerObject, name: string) {
    this.#handle = new Handle(ptr, name);
    this.size = Number(lib().obd_file_size(ptr));
    this.name = name;
  }

  /** The native pointer, for passing to a function that borrows it. */
  get ptr(): Deno.PointerObject {
    return this.#handle.ptr;
  }

  /** Hands ownership to a native wrapper; this object becomes unusable. */
  take(): Deno.PointerObject {
    return this.#handle.take();
  }

  /** Reads up to `buf.byteLength` bytes at `offset`; returns how many were read (short only at the end). */
  pread(buf: Uint8Array<ArrayBuffer>, offset: number): number {
    const n = lib().obd_file_pread(this.ptr, buf, BigInt(buf.byteLength), BigInt(offset));
    return Number(check(n, `read ${this.name} at ${offset}`));
  }

  /** Closes the file; closing twice is fine. */
  close(): void {
    const p = this.#handle.release();
    if (p !== null) lib().obd_file_close(p);
  }
}

/** Opens a local file read-only. */
export function openFile(path: string): NativeFile {
  const out = outPointer();
  check(lib().obd_file_open_path(cString(path), out), `open ${path}`);
  return new NativeFile(readPointer(out), path);
}

/** A native `obd_sink`: a sequential writer, possibly wrapping another sink. */
export class NativeSink {
  readonly #handle: Handle;
  readonly name: string;

  /** Wraps a pointer returned by a native opener; the object now owns it. */
  constructor(ptr: Deno.PointerObject, name: string) {
    this.#handle = new Handle(ptr, name);
    this.name = name;
  }

  get ptr(): Deno.PointerObject {
    return this.#handle.ptr;
  }

  /** Hands ownership to a native wrapper; this object becomes unusable. */
  take(): Deno.PointerObject {
    return this.#handle.take();
  }

  /** Appends `buf`. */
  write(buf: Uint8Array<ArrayBuffer>): void {
    check(lib().obd_sink_write(this.ptr, buf, BigInt(buf.byteLength)), `write ${this.name}`);
  }

  /**
   * Finishes the stream (writers flush their last block, index and trailer),
   * closes what it wraps and releases it. Closing twice is a no-op.
   */
  close(): void {
    const p = this.#handle.release();
    if (p !== null) check(lib().obd_sink_close(p), `close ${this.name}`);
  }
}

/** Creates (truncating) a local file to write, with permission bits `mode`. */
export function createSink(path: string, mode = 0o644): NativeSink {
  const out = outPointer();
  check(lib().obd_sink_open_path(cString(path), mode, out), `create ${path}`);
  return new NativeSink(readPointer(out), path);
}

/** Copies every byte of `from` into `to`, in native code. */
export function copy(from: NativeFile, to: NativeSink): void {
  check(lib().obd_copy(from.ptr, to.ptr), `copy ${from.name} to ${to.name}`);
}
