/**
 * The native error enum (`native/src/error.h`) mirrored in TypeScript, and the
 * one function that turns a negative return code into an error of the right
 * kind with the native detail message.
 *
 * @module
 */

import {
  AlreadyExistsError,
  CorruptDataError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  type OverlaybdError,
  UnavailableError,
  UnsupportedError,
} from "../src/errors.ts";
import { lazyLibrary } from "./library.ts";

/** Codes of `enum obd_err`; values are stable and never reused. */
export const ObdErr = {
  OK: 0,
  NOMEM: -1,
  IO: -2,
  INVAL: -3,
  FORMAT: -4,
  CORRUPT: -5,
  UNSUPPORTED: -6,
  RANGE: -7,
  TRUNCATED: -8,
  READONLY: -9,
  EXISTS: -10,
  NOTFOUND: -11,
} as const;

const KIND: Record<number, new (message: string) => OverlaybdError> = {
  [ObdErr.NOMEM]: UnavailableError,
  [ObdErr.IO]: UnavailableError,
  [ObdErr.INVAL]: InvalidArgumentError,
  [ObdErr.FORMAT]: CorruptDataError,
  [ObdErr.CORRUPT]: CorruptDataError,
  [ObdErr.UNSUPPORTED]: UnsupportedError,
  [ObdErr.RANGE]: InvalidArgumentError,
  [ObdErr.TRUNCATED]: CorruptDataError,
  [ObdErr.READONLY]: FailedPreconditionError,
  [ObdErr.EXISTS]: AlreadyExistsError,
  [ObdErr.NOTFOUND]: NotFoundError,
};

const lib = lazyLibrary({
  obd_strerror: { parameters: ["i32"], result: "pointer" },
  obd_last_error: { parameters: [], result: "pointer" },
  obd_clear_error: { parameters: [], result: "void" },
});

/** The static name of a native code, from `obd_strerror`. */
export function strerror(code: number): string {
  const p = lib().obd_strerror(code);
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}

/** The detail of the last native failure on this thread. */
export function lastError(): string {
  const p = lib().obd_last_error();
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}

/**
 * Returns `code` unchanged when it is not negative; otherwise throws the error
 * kind for that code, its message the native detail (which names the file and
 * offset) or, failing that, `context` and the code's name.
 *
 * `detail`, when given, replaces the calling thread's native detail: calls made
 * with `nonblocking: true` run on another thread, whose detail the callee copies
 * out (see `cache_call_*` in `native/src/cache.h`).
 */
export function check<T extends number | bigint>(code: T, context: string, detail?: string): T {
  if (code >= 0) return code;
  const n = Number(code);
  if (detail === undefined) {
    detail = lastError();
    lib().obd_clear_error();
  }
  const Kind = KIND[n] ?? UnavailableError;
  throw new Kind(detail !== "" ? detail : `${context}: ${strerror(n)}`);
}
