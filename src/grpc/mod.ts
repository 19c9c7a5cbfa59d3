/**
 * A small gRPC server over HTTP/2 (RFC 9113), written here because Deno's
 * `node:http2` server aborts the process when a client drops a connection
 * and `Deno.serve` cannot send trailers. It serves unary and
 * server-streaming methods on a unix socket (containerd's proxy plugins) or
 * TCP, with flow control, stream and message limits, deadlines
 * (`grpc-timeout`), and graceful shutdown (GOAWAY). HPACK comes from the npm
 * codec `hpack.js`; messages are bytes, uncompressed.
 *
 * ```ts ignore
 * const server = serveGrpc({ path: "/run/overlaybd/grpc.sock" }, {
 *   "/containerd.services.snapshots.v1.Snapshots/Stat": unary(decodeStat, encodeInfo, stat),
 * });
 * // ...
 * await server.close();
 * ```
 *
 * Handlers throw our error kinds; {@linkcode statusOfError} turns them into
 * gRPC codes (NotFound 5, AlreadyExists 6, InvalidArgument 3,
 * FailedPrecondition 9, Unavailable 14, Unsupported → UNIMPLEMENTED 12,
 * Unauthenticated 16, CorruptData → DATA_LOSS 15, anything else INTERNAL 13),
 * or throw {@linkcode GrpcError} with an explicit code.
 *
 * Not here yet: client-streaming and bidi calls, compression, idle and
 * preface timeouts, a per-connection bound on buffered request bytes across
 * streams (each stream is bounded by `maxMessageSize`).
 *
 * @module
 */

export {
  type CallContext,
  type MethodHandler,
  type MethodTable,
  parseGrpcTimeout,
  serverStreaming,
  unary,
} from "./handler.ts";
export { type GrpcServer, type GrpcServerOptions, serveGrpc } from "./server.ts";
export {
  decodeGrpcMessage,
  encodeGrpcMessage,
  errorOfStatus,
  GrpcError,
  Status,
  type StatusCode,
  statusOfError,
} from "./status.ts";
export { encodeMessage, MessageReader } from "./message.ts";
