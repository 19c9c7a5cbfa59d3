import assert from "node:assert/strict";
import { Flag, FrameType, H2Error, Setting } from "../../src/grpc/frame.ts";
import { type MethodTable, unary } from "../../src/grpc/mod.ts";
import { encodeMessage } from "../../src/grpc/message.ts";
import { withServer } from "./_client.ts";
import { endsStream, RawClient } from "./_raw_client.ts";

const bytes = (b: Uint8Array) => b;

const METHODS: MethodTable = {
  "/t.S/Echo": unary(bytes, bytes, (req) => req),
  "/t.S/Sleep": unary(bytes, bytes, async (req) => {
    await new Promise((resolve) => setTimeout(resolve, req[0] * 10));
    return req;
  }),
  "/t.S/Fill": unary(bytes, bytes, (req) => new Uint8Array(req[0] * 1000).fill(1)),
};

function goawayCode(frames: { type: number; payload: Uint8Array }[]): number | undefined {
  const g = frames.find((f) => f.type === FrameType.GOAWAY);
  return g && new DataView(g.payload.buffer, g.payload.byteOffset).getUint32(4);
}

Deno.test("Connection advertises its limits and acknowledges SETTINGS and PING", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path);
    try {
      await c.frame(FrameType.PING, 0, 0, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
      const frames = await c.readUntil((f) => f.type === FrameType.PING);
      const settings = frames.find((f) => f.type === FrameType.SETTINGS && f.flags === 0)!;
      const view = new DataView(settings.payload.buffer);
      const values = new Map<number, number>();
      for (let i = 0; i < settings.payload.length; i += 6) {
        values.set(view.getUint16(i), view.getUint32(i + 2));
      }
      assert.equal(values.get(Setting.MAX_CONCURRENT_STREAMS), 3);
      assert.ok(frames.some((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK));
      const ping = frames.at(-1)!;
      assert.equal(ping.flags, Flag.ACK);
      assert.deepEqual(ping.payload, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    } finally {
      c.close();
    }
  }, { maxConcurrentStreams: 3 });
});

Deno.test("Connection sends GOAWAY PROTOCOL_ERROR after a bad preface", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path, false);
    try {
      await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      const frames = await c.readUntil(() => false);
      assert.equal(goawayCode(frames), H2Error.PROTOCOL_ERROR);
      assert.ok(c.eof);
    } finally {
      c.close();
    }
  });
});

Deno.test("Connection sends GOAWAY FRAME_SIZE_ERROR for a frame over MAX_FRAME_SIZE", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path);
    try {
      await c.frame(FrameType.DATA, 0, 1, new Uint8Array(20_000));
      const frames = await c.readUntil(() => false);
      assert.equal(goawayCode(frames), H2Error.FRAME_SIZE_ERROR);
    } finally {
      c.close();
    }
  });
});

Deno.test("Connection refuses streams past MAX_CONCURRENT_STREAMS", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path);
    try {
      for (const id of [1, 3, 5]) await c.request(id, "/t.S/Sleep", new Uint8Array([20]));
      const frames = await c.readUntil(endsStream(3));
      const rst = frames.find((f) => f.type === FrameType.RST_STREAM && f.streamId === 5);
      assert.ok(rst);
      assert.equal(new DataView(rst.payload.buffer).getUint32(0), H2Error.REFUSED_STREAM);
      const trailers = frames.filter((f) => f.headers?.get("grpc-status") === "0");
      assert.deepEqual(trailers.map((f) => f.streamId).sort(), [1, 3]);
    } finally {
      c.close();
    }
  }, { maxConcurrentStreams: 2 });
});

Deno.test("Connection never sends more DATA than the client's window", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path, [[Setting.INITIAL_WINDOW_SIZE, 1000]]);
    try {
      await c.request(1, "/t.S/Fill", new Uint8Array([5]));
      let frames = await c.readUntil(() => false, 300);
      const sent = () =>
        frames.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
      assert.equal(sent(), 1000);
      const c2 = c;
      await c2.frame(FrameType.WINDOW_UPDATE, 0, 1, new Uint8Array([0, 0, 0x27, 0x10]));
      frames = await c2.readUntil(endsStream(1));
      assert.equal(sent(), 5005 - 1000);
      assert.equal(frames.at(-1)!.headers?.get("grpc-status"), "0");
    } finally {
      c.close();
    }
  });
});

Deno.test("Connection answers DEADLINE_EXCEEDED from grpc-timeout itself", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path);
    try {
      await c.request(1, "/t.S/Sleep", new Uint8Array([50]), [["grpc-timeout", "50m"]]);
      const frames = await c.readUntil(endsStream(1));
      assert.equal(frames.at(-1)!.headers?.get("grpc-status"), "4");
    } finally {
      c.close();
    }
  });
});

Deno.test("Connection answers compressed messages with UNIMPLEMENTED or INTERNAL", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path);
    try {
      const compressed = encodeMessage(new Uint8Array([1]));
      compressed[0] = 1;
      await c.frame(
        FrameType.HEADERS,
        Flag.END_HEADERS,
        1,
        c.requestBlock("/t.S/Echo", [["grpc-encoding", "gzip"]]),
      );
      await c.frame(FrameType.DATA, Flag.END_STREAM, 1, compressed);
      await c.frame(FrameType.HEADERS, Flag.END_HEADERS, 3, c.requestBlock("/t.S/Echo"));
      await c.frame(FrameType.DATA, Flag.END_STREAM, 3, compressed);
      const frames = await c.readUntil(endsStream(3));
      const status = (id: number) =>
        frames.find((f) => f.streamId === id && f.headers?.has("grpc-status"))?.headers?.get(
          "grpc-status",
        );
      assert.equal(status(1), "12");
      assert.equal(status(3), "13");
    } finally {
      c.close();
    }
  });
});

Deno.test("Connection joins HEADERS and CONTINUATION into one header block", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path);
    try {
      const block = c.requestBlock("/t.S/Echo", [["x-pad", "p".repeat(300)]]);
      await c.frame(FrameType.HEADERS, 0, 1, block.subarray(0, 10));
      await c.frame(FrameType.CONTINUATION, 0, 1, block.subarray(10, 100));
      await c.frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(100));
      await c.frame(FrameType.DATA, Flag.END_STREAM, 1, encodeMessage(new Uint8Array([9])));
      const frames = await c.readUntil(endsStream(1));
      const data = frames.find((f) => f.type === FrameType.DATA)!;
      assert.deepEqual(data.payload, encodeMessage(new Uint8Array([9])));
      assert.equal(frames.at(-1)!.headers?.get("grpc-status"), "0");
    } finally {
      c.close();
    }
  });
});

Deno.test("Connection answers RESOURCE_EXHAUSTED for a header list over the limit", async () => {
  await withServer(METHODS, async (path) => {
    const c = await RawClient.connect(path);
    try {
      // One indexed literal, then many one-byte references to it: small on the wire, large decoded.
      const first = c.requestBlock("/t.S/Echo", [["x-big", "v".repeat(1000)]]);
      const again = c.requestBlock("/t.S/Echo", Array(40).fill(["x-big", "v".repeat(1000)]));
      assert.ok(again.length < 200);
      await c.frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, first);
      await c.frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, again);
      const frames = await c.readUntil(endsStream(3));
      const status = frames.find((f) => f.streamId === 3 && f.headers)?.headers?.get("grpc-status");
      assert.equal(status, "8");
    } finally {
      c.close();
    }
  }, { maxHeaderListSize: 8192 });
});
