import assert from "node:assert/strict";
import { callError } from "../../src/containerd/mod.ts";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  UnsupportedError,
} from "../../src/errors.ts";
import { GrpcError } from "../../src/grpc/mod.ts";

/** An error shaped like the ones grpc-js rejects calls with. */
function serviceError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

Deno.test("callError() maps containerd's status codes to our error kinds", () => {
  const cases: Array<[number, new (...a: never[]) => Error]> = [
    [5, NotFoundError],
    [6, AlreadyExistsError],
    [9, FailedPreconditionError],
    [3, InvalidArgumentError],
    [12, UnsupportedError],
    [14, UnavailableError],
  ];
  for (const [code, kind] of cases) {
    const err = callError(serviceError(code, "server says"), "stat snapshot k", "/s.sock");
    assert.ok(err instanceof kind, `code ${code} gives ${err.name}`);
    assert.match(err.message, /^stat snapshot k: .*server says/);
  }
});

Deno.test("callError() keeps codes without a kind as GrpcError", () => {
  const err = callError(serviceError(13, "boom"), "list images", "/s.sock");
  assert.ok(err instanceof GrpcError);
  assert.equal(err.code, 13);
  assert.equal(err.message, "list images: boom");
});

Deno.test("callError() names the socket and the flag when containerd is unavailable", () => {
  const err = callError(
    serviceError(14, "No connection established. Last error: connect ENOENT. Resolution note: "),
    "get image x",
    "/run/x.sock",
  );
  assert.ok(err instanceof UnavailableError);
  assert.equal(
    err.message,
    "get image x: containerd at /run/x.sock: No connection established. Last error: connect ENOENT " +
      "(is containerd running? set --address or CONTAINERD_ADDRESS)",
  );
});

Deno.test("callError() passes other errors through", () => {
  const plain = new TypeError("bad");
  assert.equal(callError(plain, "x", "/s.sock"), plain);
});
