/**
 * Finds and opens the native core, `libobd.so`, built by `make -C native`.
 *
 * Each `ffi/<module>.ts` declares its own symbol table and calls
 * {@linkcode lazyLibrary}; the library is opened on first use so that commands
 * that never touch it (`--help`) start without it.
 *
 * @module
 */

import { FailedPreconditionError } from "../src/errors.ts";

/** Path of the shared library: `$OVERLAYBD_NATIVE_LIB`, else `native/build/libobd.so` in this checkout. */
export function libraryPath(): string {
  const fromEnv = Deno.env.get("OVERLAYBD_NATIVE_LIB");
  if (fromEnv) return fromEnv;
  return new URL("../native/build/libobd.so", import.meta.url).pathname;
}

/**
 * Returns a function that opens the library with `symbols` on its first call
 * and returns the same symbols on every later call.
 *
 * @throws {FailedPreconditionError} when the library has not been built.
 */
export function lazyLibrary<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): () => Deno.DynamicLibrary<S>["symbols"] {
  let lib: Deno.DynamicLibrary<S> | undefined;
  return () => {
    if (!lib) {
      const path = libraryPath();
      try {
        lib = Deno.dlopen(path, symbols);
      } catch (cause) {
        throw new FailedPreconditionError(
          `cannot load the native core ${path}: run 'make -C native' (or scripts/setup.sh) first`,
          { cause },
        );
      }
    }
    return lib.symbols;
  };
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of `s` for a `const char *` parameter. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s + "\0");
}

/** A one-slot buffer for a `T **out` parameter. */
export function outPointer(): BigUint64Array<ArrayBuffer> {
  return new BigUint64Array(1);
}

/** The pointer a callee stored into an {@linkcode outPointer} slot. */
export function readPointer(slot: BigUint64Array): Deno.PointerObject {
  const p = Deno.UnsafePointer.create(slot[0]);
  if (p === null) throw new TypeError("native call returned a null handle");
  return p;
}
