import assert from "node:assert/strict";
import { UnavailableError } from "../../src/errors.ts";
import { type MethodTable, serveGrpc, unary } from "../../src/grpc/mod.ts";
import {
  createSnapshotterMetrics,
  instrumentMethods,
  type MetricsServer,
  type MetricsServerOptions,
  serveMetrics,
  type SnapshotterMetrics,
} from "../../src/metrics/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { bytesClient, callUnary } from "../grpc/_client.ts";
import { baseUrl, get, sample } from "./_scrape.ts";

const SERVICE = "/containerd.services.snapshots.v1.Snapshots";
const bytes = (b: Uint8Array) => b;

/** Runs `fn` with a metrics server on 127.0.0.1 and a free port, closed afterwards. */
async function withMetricsServer(
  metrics: SnapshotterMetrics,
  fn: (url: string, server: MetricsServer) => Promise<void>,
  options: MetricsServerOptions = {},
): Promise<void> {
  const server = serveMetrics(metrics, { hostname: "127.0.0.1", port: 0, ...options });
  try {
    await fn(baseUrl(server.addr), server);
  } finally {
    await server.close();
  }
}

Deno.test("serveMetrics() exposes the series of calls made through the real gRPC server", async () => {
  let fetched = 0;
  const metrics = createSnapshotterMetrics({
    registryBytesFetched: () => fetched,
    blobCache: () => ({ hits: 12, misses: 4 }),
  });
  const methods: MethodTable = {
    [`${SERVICE}/Stat`]: unary(bytes, bytes, (req) => {
      fetched += 4096;
      return req;
    }),
    [`${SERVICE}/Remove`]: unary(bytes, bytes, () => {
      throw new Error("remove failed");
    }),
  };
  await withTempDir(async (dir) => {
    const grpc = serveGrpc({ path: `${dir}/grpc.sock` }, instrumentMethods(methods, metrics));
    const client = bytesClient(`${dir}/grpc.sock`);
    try {
      await withMetricsServer(metrics, async (url) => {
        for (let i = 0; i < 4; i++) await callUnary(client, `${SERVICE}/Stat`, new Uint8Array([i]));
        const r = await callUnary(client, `${SERVICE}/Remove`, new Uint8Array([1]));
        assert.ok(r.error);
        const res = await get(`${url}/metrics`);
        assert.equal(res.status, 200);
        assert.match(res.contentType, /^text\/plain; version=0\.0\.4/);
        assert.equal(sample(res.body, "is_alive"), 1);
        assert.equal(sample(res.body, 'grpc_latency_seconds_count{function="Stat"}'), 4);
        assert.equal(sample(res.body, 'grpc_latency_seconds_count{function="Remove"}'), 1);
        assert.equal(sample(res.body, 'grpc_error_count{function="Remove"}'), 1);
        assert.equal(sample(res.body, "overlaybd_registry_bytes_fetched_total"), 4 * 4096);
        assert.equal(sample(res.body, "overlaybd_blob_cache_hits_total"), 12);
        assert.equal(sample(res.body, "overlaybd_blob_cache_misses_total"), 4);

        await callUnary(client, `${SERVICE}/Remove`, new Uint8Array([1]));
        const again = await get(`${url}/metrics`);
        assert.equal(sample(again.body, 'grpc_error_count{function="Remove"}'), 2);
      });
    } finally {
      client.close();
      await grpc.close();
    }
  });
});

Deno.test("serveMetrics() answers /healthz with ok while alive and 503 after", async () => {
  const metrics = createSnapshotterMetrics();
  await withMetricsServer(metrics, async (url) => {
    const ok = await get(`${url}/healthz`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, "ok");
    assert.match(ok.contentType, /^text\/plain/);
    metrics.setAlive(false);
    const down = await get(`${url}/healthz`);
    assert.equal(down.status, 503);
    assert.equal(down.body, "not alive");
    assert.equal(sample((await get(`${url}/metrics`)).body, "is_alive"), 0);
  });
});

Deno.test("serveMetrics() serves the page at uriPrefix only", async () => {
  await withMetricsServer(createSnapshotterMetrics(), async (url) => {
    assert.equal((await get(`${url}/prom`)).status, 200);
    assert.equal((await get(`${url}/metrics`)).status, 404);
    assert.equal((await get(`${url}/`)).status, 404);
  }, { uriPrefix: "/prom" });
});

Deno.test("serveMetrics() close() frees the port and is idempotent", async () => {
  const server = serveMetrics(createSnapshotterMetrics(), { hostname: "127.0.0.1", port: 0 });
  const { port } = server.addr as Deno.NetAddr;
  assert.equal((await get(`http://127.0.0.1:${port}/healthz`)).body, "ok");
  await server.close();
  await server.close();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  const again = Deno.listen({ hostname: "127.0.0.1", port });
  again.close();
});

Deno.test("serveMetrics() throws UnavailableError when the port is taken", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.throws(
      () =>
        serveMetrics(createSnapshotterMetrics(), { hostname: "127.0.0.1", port: taken.addr.port }),
      UnavailableError,
    );
  } finally {
    taken.close();
  }
});

Deno.test("serveMetrics() serves on a unix socket and removes it on close()", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/metrics.sock`;
    await Deno.writeTextFile(path, "stale");
    const server = serveMetrics(createSnapshotterMetrics(), { path });
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
    try {
      const res = await fetch("http://localhost/metrics", { client });
      assert.equal(res.status, 200);
      assert.equal(sample(await res.text(), "is_alive"), 1);
    } finally {
      client.close();
      await server.close();
    }
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});
