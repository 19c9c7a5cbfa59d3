/**
 * The state of one HTTP/2 stream carrying one gRPC call, as the connection
 * keeps it: windows in both directions, the request bytes, the response
 * bytes waiting for send window, and the trailers to send after them.
 *
 * @module
 */

import type { HeaderField } from "./hpack.ts";
import { MessageReader } from "./message.ts";
import { ReceiveWindow } from "./flow_window.ts";
import type { MethodHandler } from "./handler.ts";

/** Queued response bytes above which a streaming `send` waits for the client. */
export const SEND_HIGH_WATER = 256 * 1024;

/** One client-initiated stream. Fields are owned by the connection's single event loop. */
export class H2Stream {
  readonly id: number;
  readonly handler: MethodHandler | undefined;
  readonly reader: MessageReader;
  readonly abort = new AbortController();
  /** Request headers, name → value (pseudo-headers included). */
  readonly headers: Map<string, string>;
  /** What the client may still send on this stream. */
  readonly recv: ReceiveWindow;
  /** How many DATA bytes we may still send (peer's stream window). */
  sendWindow: number;
  /** DATA payloads waiting for window, in order. */
  outbound: Uint8Array[] = [];
  outboundBytes = 0;
  /** Trailers to send once `outbound` drains. */
  trailers: HeaderField[] | null = null;
  headersSent = false;
  /** END_STREAM received from the client. */
  remoteClosed = false;
  /** Status decided (trailers queued or stream reset); nothing more may be sent. */
  finished = false;
  /** Request messages received so far (unary and server-streaming take one). */
  requests: Uint8Array<ArrayBuffer>[] = [];
  compressedRequest = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  #drainWaiters: Array<() => void> = [];

  constructor(
    id: number,
    headers: Map<string, string>,
    handler: MethodHandler | undefined,
    windows: { recv: number; send: number },
    maxMessageSize: number,
  ) {
    this.id = id;
    this.headers = headers;
    this.handler = handler;
    this.recv = new ReceiveWindow(windows.recv);
    this.sendWindow = windows.send;
    this.reader = new MessageReader(maxMessageSize);
  }

  /** Resolves once queued response bytes fall below {@linkcode SEND_HIGH_WATER} or the stream ends. */
  drained(): Promise<void> {
    if (this.outboundBytes < SEND_HIGH_WATER || this.finished && this.trailers === null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Wakes `drained()` waiters when the queue is low or the stream is gone. */
  wake(): void {
    if (this.outboundBytes >= SEND_HIGH_WATER && !this.abort.signal.aborted) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Drops queued output and wakes waiters (client reset, connection gone). */
  discard(reason: Error): void {
    this.finished = true;
    this.outbound = [];
    this.outboundBytes = 0;
    this.trailers = null;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (!this.abort.signal.aborted) this.abort.abort(reason);
    this.wake();
  }
}
