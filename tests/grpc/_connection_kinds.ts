/**
 * The ways a client leaves a connection, for the many-connections test: each
 * function opens one connection to the server at `path`, makes
 * {@linkcode CALLS_PER_CONNECTION} Stat calls on it and ends it in its own way.
 *
 * @module
 */

import assert from "node:assert/strict";
import { encodeFrame, Flag, FrameType } from "../../src/grpc/frame.ts";
import { encodeMessage } from "../../src/grpc/message.ts";
import { randomBytes } from "../_helpers.ts";
import { bytesClient, type grpc } from "./_client.ts";
import { RawClient } from "./_raw_client.ts";
import { STAT, statReply } from "./_stat_server.ts";

/** Calls made on each connection. */
export const CALLS_PER_CONNECTION = 50;

const encoder = new TextEncoder();

/** Tally of what the clients saw. */
export interface Tally {
  calls: number;
  ok: number;
  codes: Map<number, number>;
}

/** Key of call `i`: known keys k0–k9 and, one call in ten, an unknown one. */
function keyOf(rnd: Uint8Array, i: number): string {
  return rnd[i] % 10 === 9 ? `missing${i}` : `k${rnd[i + 1] % 10}`;
}

function record(t: Tally, key: string, r: { response?: Uint8Array; error?: grpc.ServiceError }) {
  if (r.response) {
    assert.deepEqual(r.response, statReply(key));
    t.ok++;
  } else {
    t.codes.set(r.error!.code, (t.codes.get(r.error!.code) ?? 0) + 1);
  }
}

/**
 * A grpc-js client with a connection of its own (a private subchannel pool;
 * by default clients of one address share one connection).
 */
export function newClient(path: string): grpc.Client {
  return bytesClient(path, { "grpc.use_local_subchannel_pool": 1 });
}

/**
 * One grpc-js connection, 50 calls in flight together, ended by `mode`:
 * "clean" waits for every answer and closes; "close" calls client.close()
 * after a few answers (the calls in flight must still complete); "cancel"
 * cancels the unanswered calls after a few answers and closes.
 */
async function grpcConnection(
  path: string,
  seed: number,
  mode: "clean" | "close" | "cancel",
  t: Tally,
): Promise<void> {
  const rnd = randomBytes(2 * CALLS_PER_CONNECTION + 1, seed);
  const client = newClient(path);
  const stopAfter = 1 + rnd[2 * CALLS_PER_CONNECTION] % 20;
  let answered = 0;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  const calls: grpc.ClientUnaryCall[] = [];
  const done: Promise<void>[] = [];
  for (let i = 0; i < CALLS_PER_CONNECTION; i++) {
    const key = keyOf(rnd, i);
    t.calls++;
    done.push(
      new Promise((resolve) => {
        calls.push(client.makeUnaryRequest(
          STAT,
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => new Uint8Array(b),
          encoder.encode(key),
          (error, response) => {
            record(t, key, error ? { error } : { response });
            if (++answered === stopAfter) stop();
            resolve();
          },
        ));
      }),
    );
  }
  if (mode !== "clean") {
    await stopped;
    if (mode === "cancel") calls.forEach((c) => c.cancel());
    client.close();
  }
  await Promise.all(done);
  client.close();
}

/**
 * One raw connection: 50 requests, about a quarter of them cut short (headers
 * only, or half a message), then part of a frame, then the socket is closed
 * without reading the answers — which the kernel turns into a reset on the
 * server's side (unix sockets reset when closed with unread data).
 */
async function rawResetConnection(path: string, seed: number, t: Tally): Promise<void> {
  const rnd = randomBytes(3 * CALLS_PER_CONNECTION + 2, seed);
  const c = await RawClient.connect(path);
  try {
    for (let i = 0; i < CALLS_PER_CONNECTION; i++) {
      const id = 2 * i + 1;
      const message = encodeMessage(encoder.encode(keyOf(rnd, i)));
      t.calls++;
      await c.frame(FrameType.HEADERS, Flag.END_HEADERS, id, c.requestBlock(STAT));
      switch (rnd[i + 2 * CALLS_PER_CONNECTION] % 8) {
        case 0:
          break; // headers only
        case 1:
          await c.frame(FrameType.DATA, 0, id, message.subarray(0, 3));
          break;
        default:
          await c.frame(FrameType.DATA, Flag.END_STREAM, id, message);
      }
    }
    if (seed % 2 === 0) await c.readUntil(() => false, 1 + rnd[3 * CALLS_PER_CONNECTION] % 5);
    const block = c.requestBlock(STAT);
    const frame = encodeFrame(
      FrameType.HEADERS,
      Flag.END_HEADERS,
      2 * CALLS_PER_CONNECTION + 1,
      block,
    );
    // Half a frame header, or a whole header and half its payload.
    const cut = frame.subarray(0, seed % 3 === 0 ? 5 : 9 + (block.length >> 1));
    await c.write(cut);
  } catch {
    // the server may have closed first
  } finally {
    c.close();
  }
}

/** An empty tally. */
export function tally(): Tally {
  return { calls: 0, ok: 0, codes: new Map() };
}

/** Connection number `seed`: clean, close mid-call, cancel mid-call or raw reset, in turn. */
export function connection(
  path: string,
  seed: number,
  clean: Tally,
  dropped: Tally,
): Promise<void> {
  switch (seed % 4) {
    case 0:
      return grpcConnection(path, seed, "clean", clean);
    case 1:
      return grpcConnection(path, seed, "close", clean);
    case 2:
      return grpcConnection(path, seed, "cancel", dropped);
    default:
      return rawResetConnection(path, seed, dropped);
  }
}
