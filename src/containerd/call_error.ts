/**
 * Turns a failed gRPC call to containerd into one of our error kinds
 * (`src/errors.ts`), keeping containerd's own message.
 *
 * @module
 */

import { UnavailableError } from "../errors.ts";
import { errorOfStatus, Status } from "../grpc/mod.ts";

/** What `@grpc/grpc-js` rejects a call with. */
interface ServiceErrorLike {
  code: number;
  details: string;
}

function isServiceError(err: unknown): err is ServiceErrorLike {
  return err instanceof Error && typeof (err as Partial<ServiceErrorLike>).code === "number" &&
    typeof (err as Partial<ServiceErrorLike>).details === "string";
}

/**
 * The error a failed call becomes: NotFound, AlreadyExists,
 * FailedPrecondition, InvalidArgument, Unsupported (UNIMPLEMENTED) and the
 * other kinds of `errorOfStatus`; UNAVAILABLE names the socket and how to
 * point at another one.
 *
 * @param err what grpc-js gave
 * @param context what was being done, lower-case, with the values that matter
 * @param address the socket path
 * @returns an error whose message is `context: containerd's message`
 *
 * @example A missing snapshot
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotFoundError } from "../errors.ts";
 * const grpcError = Object.assign(new Error("5 NOT_FOUND"), { code: 5, details: "snapshot k: not found" });
 * const err = callError(grpcError, "stat snapshot k", "/run/containerd/containerd.sock");
 * assert.ok(err instanceof NotFoundError);
 * assert.equal(err.message, "stat snapshot k: snapshot k: not found");
 * ```
 */
export function callError(err: unknown, context: string, address: string): Error {
  if (!isServiceError(err)) return err instanceof Error ? err : new Error(String(err));
  if (err.code === Status.UNAVAILABLE) {
    return new UnavailableError(
      // grpc-js ends connection failures with an empty "Resolution note: ".
      `${context}: containerd at ${address}: ${
        err.details.replace(/\.?\s*Resolution note:\s*$/, "")
      } ` +
        "(is containerd running? set --address or CONTAINERD_ADDRESS)",
      { cause: err },
    );
  }
  return errorOfStatus(err.code, `${context}: ${err.details}`);
}
