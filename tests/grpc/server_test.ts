import assert from "node:assert/strict";
import { NotFoundError } from "../../src/errors.ts";
import { type MethodTable, serverStreaming, unary } from "../../src/grpc/mod.ts";
import { bytesClient, callStream, callUnary, grpc, withServer } from "./_client.ts";

const bytes = (b: Uint8Array) => b;
const text = (s: string) => new TextEncoder().encode(s);

const METHODS: MethodTable = {
  "/test.Echo/Echo": unary(bytes, bytes, (req) => req),
  "/test.Echo/Missing": unary(bytes, bytes, (req) => {
    throw new NotFoundError(`snapshot ${new TextDecoder().decode(req)} not found: 100% gone ✗`);
  }),
  "/test.Echo/Count": serverStreaming(bytes, bytes, function* (req) {
    for (let i = 0; i < req[0]; i++) yield text(`m${i}`);
  }),
};

Deno.test("serveGrpc() answers unary calls from grpc-js", async () => {
  await withServer(METHODS, async (path) => {
    const client = bytesClient(path);
    try {
      const r = await callUnary(client, "/test.Echo/Echo", text("hello"));
      assert.equal(r.error, undefined);
      assert.deepEqual(r.response, text("hello"));
    } finally {
      client.close();
    }
  });
});

Deno.test("serveGrpc() sends status and percent-encoded message from the error kind", async () => {
  await withServer(METHODS, async (path) => {
    const client = bytesClient(path);
    try {
      const r = await callUnary(client, "/test.Echo/Missing", text("s1"));
      assert.equal(r.error?.code, grpc.status.NOT_FOUND);
      assert.equal(r.error?.details, "snapshot s1 not found: 100% gone ✗");
      const u = await callUnary(client, "/test.Echo/Nope", text(""));
      assert.equal(u.error?.code, grpc.status.UNIMPLEMENTED);
    } finally {
      client.close();
    }
  });
});

Deno.test("serveGrpc() streams server messages", async () => {
  await withServer(METHODS, async (path) => {
    const client = bytesClient(path);
    try {
      const r = await callStream(client, "/test.Echo/Count", new Uint8Array([5]));
      assert.equal(r.error, undefined);
      assert.deepEqual(r.messages.map((m) => new TextDecoder().decode(m)), [
        "m0",
        "m1",
        "m2",
        "m3",
        "m4",
      ]);
    } finally {
      client.close();
    }
  });
});

const BIG: MethodTable = {
  "/test.Big/Size": unary(bytes, (n: number) => text(String(n)), (req) => req.length),
  "/test.Big/Fill": unary(bytes, bytes, (req) => {
    const n = new DataView(req.buffer).getUint32(0);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = i % 251;
    return out;
  }),
  "/test.Big/Sleep": unary(bytes, bytes, async (req, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, req[0] * 10));
    ctx.signal.throwIfAborted();
    return req;
  }),
};

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

Deno.test("serveGrpc() takes a 4 MiB request and sends a 10 MiB response within flow control", async () => {
  await withServer(BIG, async (path) => {
    const client = bytesClient(path);
    try {
      const r = await callUnary(client, "/test.Big/Size", new Uint8Array(4 * 1024 * 1024).fill(7));
      assert.equal(new TextDecoder().decode(r.response), String(4 * 1024 * 1024));
      const f = await callUnary(client, "/test.Big/Fill", u32(10 * 1024 * 1024));
      assert.equal(f.error, undefined);
      assert.equal(f.response!.length, 10 * 1024 * 1024);
      assert.equal(f.response![10 * 1024 * 1024 - 1], (10 * 1024 * 1024 - 1) % 251);
    } finally {
      client.close();
    }
  });
});

Deno.test("serveGrpc() refuses messages over the limit with RESOURCE_EXHAUSTED", async () => {
  await withServer(BIG, async (path) => {
    const client = bytesClient(path);
    try {
      const r = await callUnary(client, "/test.Big/Size", new Uint8Array(2 * 1024 * 1024));
      assert.equal(r.error?.code, grpc.status.RESOURCE_EXHAUSTED);
      const f = await callUnary(client, "/test.Big/Fill", u32(2 * 1024 * 1024));
      assert.equal(f.error?.code, grpc.status.RESOURCE_EXHAUSTED);
      // The connection still serves.
      const ok = await callUnary(client, "/test.Big/Size", new Uint8Array(1000));
      assert.equal(new TextDecoder().decode(ok.response), "1000");
    } finally {
      client.close();
    }
  }, { maxMessageSize: 1024 * 1024 });
});

Deno.test("serveGrpc() answers DEADLINE_EXCEEDED when grpc-timeout passes", async () => {
  await withServer(BIG, async (path) => {
    const client = bytesClient(path);
    try {
      const r = await callUnary(client, "/test.Big/Sleep", new Uint8Array([50]), {
        deadline: Date.now() + 100,
      });
      assert.equal(r.error?.code, grpc.status.DEADLINE_EXCEEDED);
      const ok = await callUnary(client, "/test.Big/Sleep", new Uint8Array([1]), {
        deadline: Date.now() + 5000,
      });
      assert.deepEqual(ok.response, new Uint8Array([1]));
    } finally {
      client.close();
    }
  });
});

Deno.test("GrpcServer.close() lets calls in flight finish and then closes", async () => {
  await withServer(BIG, async (path, server) => {
    const client = bytesClient(path);
    try {
      const inFlight = callUnary(client, "/test.Big/Sleep", new Uint8Array([30]));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(server.connections, 1);
      const closing = server.close();
      const r = await inFlight;
      assert.deepEqual(r.response, new Uint8Array([30]));
      await closing;
      assert.equal(server.connections, 0);
      const after = await callUnary(client, "/test.Big/Sleep", new Uint8Array([0]), {
        deadline: Date.now() + 500,
      });
      assert.equal(after.error?.code, grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});
