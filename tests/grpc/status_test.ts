import assert from "node:assert/strict";
import {
  AlreadyExistsError,
  CorruptDataError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedError,
} from "../../src/errors.ts";
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  errorOfStatus,
  GrpcError,
  parseGrpcTimeout,
  Status,
  statusOfError,
} from "../../src/grpc/mod.ts";

const PAIRS = [
  [NotFoundError, Status.NOT_FOUND],
  [AlreadyExistsError, Status.ALREADY_EXISTS],
  [InvalidArgumentError, Status.INVALID_ARGUMENT],
  [FailedPreconditionError, Status.FAILED_PRECONDITION],
  [UnavailableError, Status.UNAVAILABLE],
  [UnsupportedError, Status.UNIMPLEMENTED],
  [UnauthenticatedError, Status.UNAUTHENTICATED],
  [CorruptDataError, Status.DATA_LOSS],
] as const;

Deno.test("statusOfError() and errorOfStatus() map each error kind both ways", () => {
  for (const [kind, code] of PAIRS) {
    assert.deepEqual(statusOfError(new kind("snapshot k1")), { code, message: "snapshot k1" });
    assert.ok(errorOfStatus(code, "m") instanceof kind);
  }
  assert.equal(statusOfError(new TypeError("boom")).code, Status.INTERNAL);
  assert.equal(statusOfError(new GrpcError(Status.ABORTED, "x")).code, Status.ABORTED);
  assert.ok(errorOfStatus(Status.ABORTED, "x") instanceof GrpcError);
});

Deno.test("encodeGrpcMessage() percent-encodes what is not printable ASCII, and decodes back", () => {
  const message = "100% done\nüñï ✓";
  const encoded = encodeGrpcMessage(message);
  assert.match(encoded, /^[\x20-\x7e]*$/);
  assert.ok(encoded.startsWith("100%25 done%0A"));
  assert.equal(decodeGrpcMessage(encoded), message);
  assert.equal(decodeGrpcMessage("bad %zz"), "bad %zz");
});

Deno.test("parseGrpcTimeout() reads every unit and rejects malformed values", () => {
  assert.equal(parseGrpcTimeout("2H"), 7_200_000);
  assert.equal(parseGrpcTimeout("3M"), 180_000);
  assert.equal(parseGrpcTimeout("1S"), 1000);
  assert.equal(parseGrpcTimeout("250m"), 250);
  assert.equal(parseGrpcTimeout("5000u"), 5);
  assert.equal(parseGrpcTimeout("1000000n"), 1);
  assert.equal(parseGrpcTimeout("123456789S"), undefined);
  assert.equal(parseGrpcTimeout("1s"), undefined);
  assert.equal(parseGrpcTimeout(undefined), undefined);
});
