/**
 * `native/src/fetch.h`: the fetch bridge, through which native threads that
 * miss the local cache ask TypeScript for bytes of a remote blob.
 *
 * A native thread calls the bridge's start function, a thread-safe FFI
 * callback. Deno runs it on the event loop while the native thread waits; the
 * callback only starts the {@linkcode FetchHandler} and returns. The handler
 * writes straight into the native request buffer (a `Uint8Array` over native
 * memory, valid until the request is completed), then the bridge calls
 * `fetch_bridge_complete`, which wakes the native thread.
 *
 * Deadlock rule: a native call that may wait for a fetch (a read of a remote
 * blob, opening a remote layer, destroying the bridge) must not run on the JS
 * thread, which is the only thread that can serve the fetch. Such calls are
 * declared `nonblocking: true` (they run on a worker thread and return a
 * promise) — see `ffi/cache.ts`.
 *
 * @module
 */

import { UnavailableError } from "../src/errors.ts";
import { check } from "./errors.ts";
import { Handle } from "./handle.ts";
import { cString, lazyLibrary, outPointer, readPointer } from "./library.ts";

/** `fetch_start_fn`: (request id, blob id, offset, length, buffer). */
const START = {
  parameters: ["u64", "u32", "u64", "u64", "pointer"],
  result: "void",
} as const;

const lib = lazyLibrary({
  /** Slot buffers are allocated here and freed by destroy. */
  fetch_bridge_create: { parameters: ["function", "u32", "buffer"], result: "i32" },
  /** Copies the message; the buffer need only live for the call. */
  fetch_bridge_complete: { parameters: ["pointer", "u64", "i64", "buffer"], result: "i32" },
  fetch_bridge_pending: { parameters: ["pointer"], result: "u32" },
  /** Waits for native waiters to leave, which may need the JS thread: nonblocking. */
  fetch_bridge_destroy: { parameters: ["pointer"], result: "void", nonblocking: true },
  /** Waits for a fetch: nonblocking. Writes the caller's buffer only on success. */
  fetch_bridge_fetch: {
    parameters: ["pointer", "u32", "u64", "u64", "buffer", "u32"],
    result: "i64",
    nonblocking: true,
  },
  /** Waits for `count` fetches: nonblocking; writes `count` u64 into the buffer. */
  fetch_bridge_measure: {
    parameters: ["pointer", "u32", "u64", "u32", "buffer"],
    result: "i32",
    nonblocking: true,
  },
});

/** Largest request the native side makes, in bytes (`FETCH_MAX_REQUEST`). */
export const FETCH_MAX_REQUEST = 4 << 20;

/**
 * Serves one request: fills `into` (exactly the requested bytes of blob
 * `blobId` at `offset`) and resolves with the number of bytes written;
 * anything but `into.byteLength` fails the request. A rejection fails the
 * request with the error's message. `into` must not be touched after the
 * promise settles, nor after `signal` aborts (the bridge is closing).
 */
export type FetchHandler = (
  blobId: number,
  offset: number,
  into: Uint8Array<ArrayBuffer>,
  signal: AbortSignal,
) => Promise<number>;

function toNumber(v: number | bigint, what: string): number {
  if (typeof v === "number") return v;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${v} is beyond 2^53`);
  return Number(v);
}

/** A native `fetch_bridge` and the thread-safe callback that feeds its handler. */
export class FetchBridge {
  readonly #handle: Handle;
  readonly #callback: Deno.UnsafeCallback<typeof START>;
  readonly #handler: FetchHandler;
  readonly #inflight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #closing: Promise<void> | undefined;

  /** Use {@linkcode openFetchBridge}. */
  constructor(handler: FetchHandler, maxInflight: number) {
    this.#handler = handler;
    this.#callback = Deno.UnsafeCallback.threadSafe(START, (id, blobId, offset, length, buf) => {
      this.#start(id, blobId, offset, length, buf);
    });
    // Idle, the bridge must not keep the process alive; #start refs it per request.
    this.#callback.unref();
    const out = outPointer();
    try {
      check(
        lib().fetch_bridge_create(this.#callback.pointer, maxInflight, out),
        "create fetch bridge",
      );
    } catch (e) {
      this.#callback.close();
      throw e;
    }
    this.#handle = new Handle(readPointer(out), "fetch bridge");
  }

  /** The native pointer, for `cache_open_blob`; valid until {@linkcode close}. */
  get ptr(): Deno.PointerObject {
    return this.#handle.ptr;
  }

  /** Requests started natively and neither completed nor given up. */
  pending(): number {
    return lib().fetch_bridge_pending(this.#handle.ptr);
  }

  /** Handler calls running now. */
  get inflight(): number {
    return this.#inflight.size;
  }

  #start(
    id: number | bigint,
    blobId: number,
    offset: number | bigint,
    length: number | bigint,
    buf: Deno.PointerValue,
  ): void {
    if (this.#closing !== undefined || buf === null) {
      // Late: the native bridge is being destroyed, which fails the waiter.
      return;
    }
    this.#callback.ref();
    const n = toNumber(length, "fetch length");
    const into = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(buf, n));
    const run = this.#serve(BigInt(id), blobId, toNumber(offset, "fetch offset"), into)
      .finally(() => {
        this.#inflight.delete(run);
        this.#callback.unref();
      });
    this.#inflight.add(run);
  }

  async #serve(
    id: bigint,
    blobId: number,
    offset: number,
    into: Uint8Array<ArrayBuffer>,
  ): Promise<void> {
    let result: number;
    let message = "";
    try {
      result = await this.#handler(blobId, offset, into, this.#abort.signal);
    } catch (e) {
      result = -1;
      message = e instanceof Error ? e.message : String(e);
    }
    // close() destroys the native bridge only after every #serve settled.
    lib().fetch_bridge_complete(this.#handle.ptr, id, BigInt(result), cString(message));
  }

  /**
   * Fetches through the bridge from a worker thread, as a native reader
   * would (for tests and diagnostics).
   *
   * @throws {UnavailableError} when the handler failed, wrote a short
   *   result, or `timeoutMs` passed
   */
  async fetch(
    blobId: number,
    offset: number,
    length: number,
    timeoutMs = 30_000,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const buf = new Uint8Array(length);
    const rc = await lib().fetch_bridge_fetch(
      this.#handle.ptr,
      blobId,
      BigInt(offset),
      BigInt(length),
      buf,
      timeoutMs,
    );
    check(rc, `fetch of blob ${blobId} [${offset},+${length})`, "");
    return buf;
  }

  /**
   * Times `count` sequential fetches of `length` bytes made by one native
   * thread; returns each round trip in nanoseconds.
   */
  async measure(blobId: number, length: number, count: number): Promise<BigUint64Array> {
    const ns = new BigUint64Array(count);
    const rc = await lib().fetch_bridge_measure(
      this.#handle.ptr,
      blobId,
      BigInt(length),
      count,
      new Uint8Array(ns.buffer),
    );
    check(rc, `measure fetches of blob ${blobId}`, "");
    return ns;
  }

  /**
   * Stops serving: aborts the handlers' signal, waits for running handlers to
   * settle, destroys the native bridge (failing requests still waiting) and
   * then the callback. Close every cached blob that uses the bridge first.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#abort.abort(new UnavailableError("fetch bridge closed"));
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    const ptr = this.#handle.release();
    if (ptr !== null) await lib().fetch_bridge_destroy(ptr);
    this.#callback.close();
  }
}

/**
 * Creates a bridge with `maxInflight` request slots (each holds a 4 MiB
 * native buffer) whose requests `handler` serves.
 */
export function openFetchBridge(handler: FetchHandler, maxInflight = 16): FetchBridge {
  return new FetchBridge(handler, maxInflight);
}
