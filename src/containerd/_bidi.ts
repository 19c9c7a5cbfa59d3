/**
 * A bidirectional-streaming call as a pair of awaitable operations: `send`
 * (which waits for grpc-js to take more when its buffer is full) and
 * `receive` (the next response, or `undefined` at the end). Responses that
 * nobody awaited yet are queued.
 *
 * @module
 */

import {
  create,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { callError } from "./call_error.ts";
import { callMetadata, type Channel, codec, type Method, methodPath } from "./_rpc.ts";

/** An open bidi call. */
export interface BidiCall<I extends DescMessage, O extends DescMessage> {
  /** Sends one message; rejects with the call's error if it has failed. */
  send(message: MessageInitShape<I>): Promise<void>;
  /** The next response, `undefined` once the server ended the call with OK. */
  receive(): Promise<MessageShape<O> | undefined>;
  /** Half-closes: no more messages from us. */
  end(): void;
  /** Abandons the call (harmless after it ended). */
  cancel(): void;
}

/**
 * Opens a bidi call of `method` on `channel`.
 *
 * @param context what is being done, for error messages
 */
export function openBidi<I extends DescMessage, O extends DescMessage>(
  channel: Channel,
  method: Method<I, O>,
  context: string,
): BidiCall<I, O> {
  const { serialize, deserialize } = codec(method);
  const call = channel.grpc.makeBidiStreamRequest(
    methodPath(method),
    serialize,
    deserialize,
    callMetadata(channel),
    {},
  );
  const queue: MessageShape<O>[] = [];
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  call.on("data", (m: MessageShape<O>) => {
    queue.push(m);
    notify();
  });
  call.on("error", (err: unknown) => {
    failure ??= callError(err, context, channel.address);
    notify();
  });
  call.on("end", () => {
    ended = true;
    notify();
  });
  const waitChange = () => new Promise<void>((resolve) => (wake = resolve));

  return {
    async send(message) {
      if (failure) throw failure;
      if (call.write(create(method.input, message))) return;
      // Buffer full: wait for room, or for the call to fail.
      await new Promise<void>((resolve) => {
        const done = () => {
          call.off("drain", done);
          call.off("error", done);
          call.off("close", done);
          resolve();
        };
        call.on("drain", done);
        call.on("error", done);
        call.on("close", done);
      });
      if (failure) throw failure;
    },
    async receive() {
      for (;;) {
        if (queue.length > 0) return queue.shift();
        if (failure) throw failure;
        if (ended) return undefined;
        await waitChange();
      }
    },
    end() {
      call.end();
    },
    cancel() {
      call.cancel();
    },
  };
}
