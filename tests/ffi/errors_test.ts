import assert from "node:assert/strict";
import { check, ObdErr, strerror } from "../../ffi/errors.ts";
import {
  AlreadyExistsError,
  CorruptDataError,
  InvalidArgumentError,
  NotFoundError,
} from "../../src/errors.ts";

Deno.test("ObdErr mirrors every native code and no more", () => {
  const codes = Object.values(ObdErr);
  for (const code of codes) assert.notEqual(strerror(code), "unknown error", `code ${code}`);
  // A code added in C without a mirror here would have a name below the lowest one we know.
  assert.equal(strerror(Math.min(...codes) - 1), "unknown error");
  assert.equal(new Set(codes.map(strerror)).size, codes.length, "names are distinct");
});

Deno.test("check() passes non-negative results through", () => {
  assert.equal(check(0, "x"), 0);
  assert.equal(check(42n, "x"), 42n);
});

Deno.test("check() throws the error kind of the code", () => {
  assert.throws(() => check(ObdErr.NOTFOUND, "open x"), NotFoundError);
  assert.throws(() => check(ObdErr.EXISTS, "create x"), AlreadyExistsError);
  assert.throws(() => check(ObdErr.CORRUPT, "read x"), CorruptDataError);
  assert.throws(() => check(ObdErr.INVAL, "read x"), InvalidArgumentError);
});

Deno.test("check() falls back to the context when native code left no detail", () => {
  assert.throws(() => check(ObdErr.CORRUPT, "read blob at 7"), /read blob at 7: corrupt data/);
});
