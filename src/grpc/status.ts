/**
 * gRPC status codes, the one mapping between our error kinds
 * (`src/errors.ts`) and those codes, and the percent-encoding of
 * `grpc-message` (gRPC over HTTP/2, "Responses").
 *
 * @module
 */

import {
  AlreadyExistsError,
  CorruptDataError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OverlaybdError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedError,
} from "../errors.ts";

/** gRPC status codes (grpc/doc/statuscodes.md). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code. */
export type StatusCode = typeof Status[keyof typeof Status];

/** An error that carries an explicit gRPC status; handlers may throw it. */
export class GrpcError extends OverlaybdError {
  readonly code: StatusCode;
  constructor(code: StatusCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

const KINDS: ReadonlyArray<[new (m: string, o?: ErrorOptions) => Error, StatusCode]> = [
  [NotFoundError, Status.NOT_FOUND],
  [AlreadyExistsError, Status.ALREADY_EXISTS],
  [InvalidArgumentError, Status.INVALID_ARGUMENT],
  [FailedPreconditionError, Status.FAILED_PRECONDITION],
  [UnavailableError, Status.UNAVAILABLE],
  [UnsupportedError, Status.UNIMPLEMENTED],
  [UnauthenticatedError, Status.UNAUTHENTICATED],
  // Corrupt stored bytes are unrecoverable loss, which is what DATA_LOSS means;
  // containerd's errdefs maps DATA_LOSS back to a plain error, as it does INTERNAL.
  [CorruptDataError, Status.DATA_LOSS],
];

/**
 * The status a handler's exception becomes. Errors of no known kind are
 * INTERNAL (their message is still sent; handlers own what they throw).
 *
 * @param err what the handler threw
 * @returns code and message for the trailers
 */
export function statusOfError(err: unknown): { code: StatusCode; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof GrpcError) return { code: err.code, message };
  for (const [kind, code] of KINDS) {
    if (err instanceof kind) return { code, message };
  }
  return { code: Status.INTERNAL, message };
}

/**
 * The error kind a received status becomes (for clients of other services).
 *
 * @param code gRPC status code, not OK
 * @param message the decoded `grpc-message`
 * @returns an error of our kinds, or a {@linkcode GrpcError} for codes without one
 */
export function errorOfStatus(code: number, message: string): Error {
  for (const [kind, c] of KINDS) {
    if (c === code) return new kind(message);
  }
  return new GrpcError(code as StatusCode, message);
}

/** Percent-encodes a `grpc-message` value (gRPC over HTTP/2: bytes outside 0x20–0x7e and '%'). */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25
      ? String.fromCharCode(byte)
      : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Decodes a percent-encoded `grpc-message`; malformed escapes are kept as they are. */
export function decodeGrpcMessage(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value.slice(i + 1, i + 3);
    if (value[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(value.charCodeAt(i) & 0xff);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
