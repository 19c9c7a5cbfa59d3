/**
 * Test helpers: a real `@grpc/grpc-js` client speaking raw bytes, and a
 * server on a unix socket in a temporary directory.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import {
  type GrpcServer,
  type GrpcServerOptions,
  type MethodTable,
  serveGrpc,
} from "../../src/grpc/mod.ts";
import { withTempDir } from "../_helpers.ts";

export { grpc };

/** Result of one unary call: the response or the status error. */
export interface UnaryResult {
  response?: Uint8Array;
  error?: grpc.ServiceError;
}

const identity = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const copy = (b: Buffer) => new Uint8Array(b);

/** Makes a raw-bytes client for `unix://<path>`. */
export function bytesClient(path: string, options: grpc.ClientOptions = {}): grpc.Client {
  return new grpc.Client(`unix://${path}`, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
    ...options,
  });
}

/** One unary call; never rejects (the error is returned). */
export function callUnary(
  client: grpc.Client,
  method: string,
  request: Uint8Array,
  options: grpc.CallOptions = {},
): Promise<UnaryResult> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      identity,
      copy,
      request,
      new grpc.Metadata(),
      options,
      (error, response) => resolve(error ? { error } : { response }),
    );
  });
}

/** One server-streaming call: every message, then the final status. */
export function callStream(
  client: grpc.Client,
  method: string,
  request: Uint8Array,
  options: grpc.CallOptions = {},
): Promise<{ messages: Uint8Array[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: Uint8Array[] = [];
    const call = client.makeServerStreamRequest(
      method,
      identity,
      copy,
      request,
      new grpc.Metadata(),
      options,
    );
    call.on("data", (m: Uint8Array) => messages.push(m));
    call.on("error", (error: grpc.ServiceError) => resolve({ messages, error }));
    call.on("end", () => resolve({ messages }));
  });
}

/** Runs `fn` with a server on a unix socket in a temporary directory, closed afterwards. */
export async function withServer(
  methods: MethodTable,
  fn: (path: string, server: GrpcServer) => Promise<void>,
  options: GrpcServerOptions = {},
): Promise<void> {
  await withTempDir(async (dir) => {
    const path = `${dir}/grpc.sock`;
    const server = serveGrpc({ ...options, path }, methods);
    try {
      await fn(path, server);
    } finally {
      await server.close();
    }
  });
}
