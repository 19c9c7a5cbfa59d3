/**
 * Calls of generated service methods over `@grpc/grpc-js`: the method path
 * and (de)serialisation come from the protobuf-es descriptors, the headers
 * from the channel (namespace, lease).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { CorruptDataError } from "../errors.ts";
import { callError } from "./call_error.ts";

/** The gRPC metadata key containerd reads the namespace from. */
export const NAMESPACE_HEADER = "containerd-namespace";
/** The gRPC metadata key containerd reads the lease from. */
export const LEASE_HEADER = "containerd-lease";

/** Labels: free-form string pairs on snapshots, blobs, images, leases. */
export type Labels = Record<string, string>;

/** A connection plus the headers every call on it sends. */
export interface Channel {
  readonly grpc: grpc.Client;
  /** Socket path, for messages. */
  readonly address: string;
  readonly namespace: string;
  readonly lease?: string;
}

/** A method of a generated service, with its request and response schemas. */
export type Method<I extends DescMessage, O extends DescMessage> = DescMethod & {
  input: I;
  output: O;
};

/** `/package.Service/Method`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** The headers of a call on `channel`. */
export function callMetadata(channel: Channel): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(NAMESPACE_HEADER, channel.namespace);
  if (channel.lease) md.set(LEASE_HEADER, channel.lease);
  return md;
}

/** grpc-js serialiser and deserialiser for a method's messages. */
export function codec<I extends DescMessage, O extends DescMessage>(method: Method<I, O>) {
  return {
    serialize: (message: MessageShape<I>): Buffer => {
      const bytes = toBinary(method.input, message);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (bytes: Buffer): MessageShape<O> => fromBinary(method.output, bytes),
  };
}

/**
 * One unary call.
 *
 * @throws our error kinds (see `callError`), the message starting with `context`
 */
export function unary<I extends DescMessage, O extends DescMessage>(
  channel: Channel,
  method: Method<I, O>,
  request: MessageInitShape<I>,
  context: string,
): Promise<MessageShape<O>> {
  const { serialize, deserialize } = codec(method);
  return new Promise((resolve, reject) => {
    channel.grpc.makeUnaryRequest(
      methodPath(method),
      serialize,
      deserialize,
      create(method.input, request),
      callMetadata(channel),
      {},
      (err, response) => {
        if (err || response === undefined) {
          reject(callError(err ?? new Error("no response"), context, channel.address));
        } else {
          resolve(response);
        }
      },
    );
  });
}

/**
 * One server-streaming call, as an async iterable of the messages; breaking
 * out of the loop cancels the call.
 *
 * @throws our error kinds (see `callError`), the message starting with `context`
 */
export async function* serverStream<I extends DescMessage, O extends DescMessage>(
  channel: Channel,
  method: Method<I, O>,
  request: MessageInitShape<I>,
  context: string,
): AsyncGenerator<MessageShape<O>> {
  const { serialize, deserialize } = codec(method);
  const call = channel.grpc.makeServerStreamRequest(
    methodPath(method),
    serialize,
    deserialize,
    create(method.input, request),
    callMetadata(channel),
    {},
  );
  try {
    for await (const message of call) yield message as MessageShape<O>;
  } catch (err) {
    throw callError(err, context, channel.address);
  } finally {
    call.cancel();
  }
}

/**
 * `value`, which a response must carry.
 *
 * @throws {CorruptDataError} when containerd left it out
 */
export function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new CorruptDataError(`containerd answered without ${what}`);
  return value;
}
