/**
 * `native/src/tar.h`: the one-file tar wrapper of layer blobs (spec §3).
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
import { cStringAt, u64At, view } from "./struct.ts";

const lib = lazyLibrary({
  tar_detect: { parameters: ["pointer", "buffer"], result: "i32" },
  tar_unwrap: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  tar_writer_open: { parameters: ["pointer", "i32", "u32", "buffer"], result: "i32" },
});

/** Where the wrapped file sits inside the tar. */
export interface TarPayload {
  offset: number;
  size: number;
  pax: boolean;
  name: string;
}

/** The payload of a wrapped blob, or null when `file` is not a tar. */
export function detectTar(file: NativeFile): TarPayload | null {
  const buf = new Uint8Array(120);
  if (check(lib().tar_detect(file.ptr, buf), `detect tar ${file.name}`) === 0) return null;
  const v = view(buf);
  return {
    offset: u64At(v, 0),
    size: u64At(v, 8),
    pax: v.getUint8(16) === 1,
    name: cStringAt(buf, 17, 101),
  };
}

/** The payload of `file` if wrapped, else `file` itself (ownership passes either way). */
export function unwrapTar(file: NativeFile): NativeFile {
  const name = file.name;
  const out = outPointer();
  check(lib().tar_unwrap(file.take(), 1, out), `unwrap tar ${name}`);
  return new File(readPointer(out), name);
}

/** A sink that wraps what is written as `overlaybd.commit` in a PAX tar; `close()` finishes it. */
export function tarWriter(out: NativeSink, mode = 0o100644): NativeSink {
  const name = out.name;
  const w = outPointer();
  check(lib().tar_writer_open(out.take(), 1, mode, w), `tar writer ${name}`);
  return new Sink(readPointer(w), name);
}
