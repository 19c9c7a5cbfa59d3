import assert from "node:assert/strict";
import { NotFoundError } from "../../src/errors.ts";
import { type MethodTable, serverStreaming, Status, unary } from "../../src/grpc/mod.ts";
import {
  createSnapshotterMetrics,
  instrumentMethods,
  methodShortName,
} from "../../src/metrics/mod.ts";
import { bytesClient, callStream, callUnary, withServer } from "../grpc/_client.ts";
import { sample } from "./_scrape.ts";

const SERVICE = "/containerd.services.snapshots.v1.Snapshots";
const bytes = (b: Uint8Array) => b;

const METHODS: MethodTable = {
  [`${SERVICE}/Stat`]: unary(bytes, bytes, (req) => {
    if (req[0] === 0) throw new NotFoundError("snapshot k0 does not exist");
    return req;
  }),
  [`${SERVICE}/List`]: serverStreaming(bytes, bytes, function* (req) {
    for (let i = 0; i < req[0]; i++) yield new Uint8Array([i]);
  }),
};

Deno.test("methodShortName() is the part after the last slash", () => {
  assert.equal(methodShortName(`${SERVICE}/Prepare`), "Prepare");
  assert.equal(methodShortName("Stat"), "Stat");
});

Deno.test("instrumentMethods() records calls served by the real server under short names", async () => {
  const metrics = createSnapshotterMetrics();
  await withServer(instrumentMethods(METHODS, metrics), async (path) => {
    const client = bytesClient(path);
    try {
      for (let i = 1; i <= 5; i++) {
        const r = await callUnary(client, `${SERVICE}/Stat`, new Uint8Array([i]));
        assert.deepEqual(r.response, new Uint8Array([i]));
      }
      const s = await callStream(client, `${SERVICE}/List`, new Uint8Array([3]));
      assert.equal(s.messages.length, 3);
    } finally {
      client.close();
    }
  });
  const text = await metrics.render();
  assert.equal(sample(text, 'grpc_latency_seconds_count{function="Stat"}'), 5);
  assert.equal(sample(text, 'grpc_latency_seconds_count{function="List"}'), 1);
  assert.equal(sample(text, 'grpc_error_count{function="Stat"}'), undefined);
  const sum = sample(text, 'grpc_latency_seconds_sum{function="Stat"}')!;
  assert.ok(sum > 0 && sum < 5, `latency sum ${sum} s`);
});

Deno.test("instrumentMethods() counts errors and leaves the status the client sees", async () => {
  const metrics = createSnapshotterMetrics();
  await withServer(instrumentMethods(METHODS, metrics), async (path) => {
    const client = bytesClient(path);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await callUnary(client, `${SERVICE}/Stat`, new Uint8Array([0]));
        assert.equal(r.error?.code, Status.NOT_FOUND);
        assert.match(r.error!.details, /k0 does not exist/);
      }
      await callUnary(client, `${SERVICE}/Stat`, new Uint8Array([1]));
    } finally {
      client.close();
    }
  });
  const text = await metrics.render();
  assert.equal(sample(text, 'grpc_error_count{function="Stat"}'), 3);
  assert.equal(sample(text, 'grpc_latency_seconds_count{function="Stat"}'), 4);
});

Deno.test("instrumentMethods() keeps each method's kind", () => {
  const table = instrumentMethods(METHODS, createSnapshotterMetrics());
  assert.deepEqual(Object.keys(table), Object.keys(METHODS));
  assert.equal(table[`${SERVICE}/List`].kind, "server-streaming");
  assert.equal(table[`${SERVICE}/Stat`].kind, "unary");
});
