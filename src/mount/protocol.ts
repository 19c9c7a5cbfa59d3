/**
 * The request/response protocol between `overlaybd mount|umount` and the
 * mount daemon: one JSON object per line over a unix socket, one response
 * line per request. Errors keep their kind across the socket.
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
  UnauthenticatedError,
  UnavailableError,
  UnsupportedError,
} from "../errors.ts";
import type { MountInfo, MountRequest } from "./device_service.ts";

/** A request to the daemon. */
export type DaemonRequest =
  | ({ op: "mount" } & MountRequest)
  | { op: "umount"; dir: string }
  | { op: "list" };

/** The daemon's answer. */
export type DaemonResponse =
  | { ok: true; mount?: MountInfo; mounts?: MountInfo[]; stopping?: boolean }
  | { ok: false; kind: string; message: string };

const KINDS: Record<string, new (message: string) => OverlaybdError> = {
  AlreadyExistsError,
  CorruptDataError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedError,
};

/** The response line for a failure. */
export function errorResponse(err: unknown): DaemonResponse {
  const e = err instanceof Error ? err : new Error(String(err));
  return { ok: false, kind: e.name, message: e.message };
}

/** Rebuilds the error a failure response describes, of the same kind. */
export function errorFromResponse(r: { kind: string; message: string }): OverlaybdError {
  const Kind = KINDS[r.kind] ?? UnavailableError;
  return new Kind(r.message);
}

/** Splits a byte stream into lines, decoded. */
export async function* lines(conn: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of conn.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
    }
  }
}

/** Path of the daemon's socket in `runDir`. */
export function socketPath(runDir: string): string {
  return `${runDir}/mountd.sock`;
}

/** Path of the daemon's pid file in `runDir`: present from start until everything is released. */
export function pidPath(runDir: string): string {
  return `${runDir}/mountd.pid`;
}
