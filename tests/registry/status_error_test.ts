import assert from "node:assert/strict";
import {
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedError,
} from "../../src/errors.ts";
import { statusError } from "../../src/registry/mod.ts";

const body = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

Deno.test("statusError() maps statuses to error kinds with the registry's message", () => {
  const err = statusError(
    { status: 404, body: body({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown" }] }) },
    "GET blob x",
  );
  assert.ok(err instanceof NotFoundError);
  assert.equal(err.message, "GET blob x: status 404 (BLOB_UNKNOWN: blob unknown)");
  assert.ok(
    statusError({ status: 403, body: new Uint8Array() }, "w") instanceof UnauthenticatedError,
  );
  assert.ok(
    statusError({ status: 400, body: new Uint8Array() }, "w") instanceof InvalidArgumentError,
  );
  assert.ok(statusError({ status: 405, body: new Uint8Array() }, "w") instanceof UnsupportedError);
  assert.ok(statusError({ status: 503, body: new Uint8Array() }, "w") instanceof UnavailableError);
  assert.equal(statusError({ status: 500, body: body("x") }, "w").message, "w: status 500");
});
