import assert from "node:assert/strict";
import { Flag, FrameType } from "../../src/grpc/frame.ts";
import { encodeMessage } from "../../src/grpc/message.ts";
import { type MethodTable, unary } from "../../src/grpc/mod.ts";
import { randomBytes } from "../_helpers.ts";
import { bytesClient, callUnary, type grpc, withServer } from "./_client.ts";
import { RawClient } from "./_raw_client.ts";

const bytes = (b: Uint8Array) => b;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const seen = { started: 0, aborted: 0, peakConnections: 0 };

const METHODS: MethodTable = {
  "/t.S/Echo": unary(bytes, bytes, (req) => req),
  "/t.S/Sleep": unary(bytes, bytes, async (req, ctx) => {
    seen.started++;
    ctx.signal.addEventListener("abort", () => seen.aborted++);
    await sleep(req[0]);
    ctx.signal.throwIfAborted();
    return new Uint8Array(req[1] * 1024);
  }),
};

/** One grpc-js connection: 50 calls, half cancelled mid-call, then the channel is closed. */
async function cancellingClient(path: string, seed: number): Promise<void> {
  const rnd = randomBytes(100, seed);
  const client: grpc.Client = bytesClient(path, { "grpc.use_local_subchannel_pool": 1 });
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 50; i++) {
    const done = new Promise((resolve) => {
      const call = client.makeUnaryRequest(
        "/t.S/Sleep",
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        new Uint8Array([rnd[i] % 20, rnd[i + 50] % 64]),
        resolve,
      );
      if (i % 2 === 0) setTimeout(() => call.cancel(), rnd[i + 1] % 15);
    });
    calls.push(done);
  }
  await sleep(5);
  client.close();
  await Promise.all(calls);
}

/** One raw connection: 50 requests, some left half-sent, then the socket is dropped. */
async function droppingSocket(path: string, seed: number): Promise<void> {
  const rnd = randomBytes(200, seed);
  const c = await RawClient.connect(path);
  try {
    for (let i = 0; i < 50; i++) {
      const id = 2 * i + 1;
      const message = encodeMessage(new Uint8Array([rnd[i] % 20, rnd[i + 50] % 64]));
      await c.frame(FrameType.HEADERS, Flag.END_HEADERS, id, c.requestBlock("/t.S/Sleep"));
      if (rnd[i + 100] % 4 === 0) await c.frame(FrameType.DATA, 0, id, message.subarray(0, 3));
      else await c.frame(FrameType.DATA, Flag.END_STREAM, id, message);
    }
    switch (seed % 3) {
      case 0: // a frame cut in half
        await c.write(new Uint8Array([0, 0, 100, FrameType.DATA, 0, 0, 0, 0, 1, 1, 2]));
        break;
      case 1: // read a little of the answers first
        await c.readUntil(() => false, rnd[150] % 20);
        break;
    }
  } catch {
    // the server may have closed first
  } finally {
    c.close();
  }
}

Deno.test("serveGrpc() keeps serving after 2 000 calls on connections dropped mid-call", async () => {
  await withServer(METHODS, async (path, server) => {
    const rounds: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) rounds.push(cancellingClient(path, i + 1));
    for (let i = 0; i < 20; i++) rounds.push(droppingSocket(path, i + 100));
    const peak = setInterval(
      () => seen.peakConnections = Math.max(seen.peakConnections, server.connections),
      2,
    );
    await Promise.all(rounds);
    clearInterval(peak);
    console.log(
      `handlers started ${seen.started}, aborted ${seen.aborted}, peak connections ${seen.peakConnections}`,
    );
    assert.ok(seen.started > 400 && seen.aborted > 100 && seen.peakConnections > 10);
    for (let i = 0; i < 100 && server.connections > 0; i++) await sleep(20);
    assert.equal(server.connections, 0);
    const client = bytesClient(path);
    try {
      for (let i = 0; i < 20; i++) {
        const r = await callUnary(client, "/t.S/Echo", new Uint8Array([i]));
        assert.deepEqual(r.response, new Uint8Array([i]));
      }
    } finally {
      client.close();
    }
  });
});

Deno.test("serveGrpc() unary latency over 1 000 calls on one connection", async () => {
  await withServer(METHODS, async (path) => {
    const client = bytesClient(path);
    try {
      const request = new Uint8Array(100).fill(1);
      for (let i = 0; i < 100; i++) await callUnary(client, "/t.S/Echo", request);
      const times: number[] = [];
      for (let i = 0; i < 1000; i++) {
        const t0 = performance.now();
        const r = await callUnary(client, "/t.S/Echo", request);
        times.push(performance.now() - t0);
        assert.equal(r.response?.length, 100);
      }
      times.sort((a, b) => a - b);
      const p50 = times[500], p99 = times[990];
      console.log(
        `unary echo over one connection: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`,
      );
      assert.ok(p99 < 100, `p99 ${p99} ms`);
    } finally {
      client.close();
    }
  });
});

Deno.test("serveGrpc() bounds handlers of streams that the client opens and resets at once", async () => {
  let running = 0, peak = 0;
  const slow: MethodTable = {
    "/t.S/Slow": unary(bytes, bytes, async (req) => {
      peak = Math.max(peak, ++running);
      await sleep(200); // ignores cancellation on purpose
      running--;
      return req;
    }),
  };
  await withServer(slow, async (path) => {
    const c = await RawClient.connect(path);
    try {
      for (let id = 1; id < 600; id += 2) {
        await c.request(id, "/t.S/Slow", new Uint8Array([1]));
        await c.frame(FrameType.RST_STREAM, 0, id, new Uint8Array([0, 0, 0, 8]));
      }
      const frames = await c.readUntil(() => false, 300);
      assert.ok(frames.some((f) => f.type === FrameType.RST_STREAM), "some streams were refused");
      assert.ok(peak >= 10 && peak <= 20, `peak ${peak} handlers`);
    } finally {
      c.close();
    }
    await sleep(250);
  }, { maxConcurrentStreams: 10 });
});
