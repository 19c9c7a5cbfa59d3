import assert from "node:assert/strict";
import { InvalidArgumentError, NotFoundError, UnavailableError } from "../../src/errors.ts";
import {
  openRepository,
  readBlob,
  readBlobRange,
  type Repository,
  type RepositoryOptions,
  statBlob,
} from "../../src/registry/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { startFaultProxy } from "./_fault_proxy.ts";
import { blobPath, HELLO_LAYOUT, OBD_LAYER, pushLayout } from "./_layout.ts";
import { startRegistry } from "./_registry.ts";

const LAYER = await Deno.readFile(blobPath(HELLO_LAYOUT, OBD_LAYER));
const FAST_RETRY = { attempts: 4, baseDelayMs: 10, maxDelayMs: 50, idleTimeoutMs: 500 };

/** A registry holding the hello-world layout, and `fn` run against it. */
async function withRegistry(fn: (host: string, stop: () => Promise<void>) => Promise<void>) {
  await withTempDir(async (dir) => {
    const reg = await startRegistry(dir);
    try {
      const seed = openRepository(`${reg.host}/hello-world`, { plain: true });
      try {
        await pushLayout(seed, HELLO_LAYOUT);
      } finally {
        seed.close();
      }
      await fn(reg.host, reg.stop);
    } finally {
      await reg.stop();
    }
  });
}

function open(host: string, options: RepositoryOptions = {}): Repository {
  return openRepository(`${host}/hello-world`, { plain: true, retry: FAST_RETRY, ...options });
}

Deno.test("readBlobRange() returns exactly the bytes asked for and counts them", async () => {
  await withRegistry(async (host) => {
    const repo = open(host);
    try {
      const ranges = [[0, 512], [1, 1], [4096, 65536], [LAYER.length - 100, 100], [300_000, 1]];
      let asked = 0;
      const times: number[] = [];
      for (const [off, len] of ranges) {
        const t0 = performance.now();
        const got = await readBlobRange(repo, OBD_LAYER, off, len);
        times.push(performance.now() - t0);
        assert.deepEqual(got, LAYER.subarray(off, off + len), `range ${off}+${len}`);
        asked += len;
      }
      assert.equal(repo.bytesFetched, asked);
      // A caller buffer is filled in place.
      const into = new Uint8Array(10);
      const view = await readBlobRange(repo, OBD_LAYER, 10, 8, into);
      assert.equal(view.buffer, into.buffer);
      assert.deepEqual(into.subarray(0, 8), LAYER.subarray(10, 18));
      console.log(`range read latency (ms): ${times.map((t) => t.toFixed(2)).join(" ")}`);
    } finally {
      repo.close();
    }
  });
});

Deno.test("readBlobRange() rejects ranges outside the blob and unknown blobs", async () => {
  await withRegistry(async (host) => {
    const repo = open(host);
    try {
      await assert.rejects(readBlobRange(repo, OBD_LAYER, -1, 10), InvalidArgumentError);
      await assert.rejects(
        readBlobRange(repo, OBD_LAYER, LAYER.length + 10, 10),
        InvalidArgumentError,
      );
      await assert.rejects(
        readBlobRange(repo, `sha256:${"0".repeat(64)}`, 0, 10),
        NotFoundError,
      );
      assert.equal(await statBlob(repo, OBD_LAYER), LAYER.length);
      assert.equal(await statBlob(repo, `sha256:${"0".repeat(64)}`), undefined);
      assert.deepEqual(await readBlob(repo, OBD_LAYER), LAYER);
    } finally {
      repo.close();
    }
  });
});

Deno.test("readBlobRange() slices a 200 answer when the server ignores Range, warning once", async () => {
  await withRegistry(async (host) => {
    const proxy = startFaultProxy(Number(host.split(":")[1]));
    const warnings: string[] = [];
    const repo = open(proxy.host, { log: (m) => warnings.push(m) });
    try {
      for (const [off, len] of [[1000, 2000], [50_000, 10]]) {
        proxy.arm({ kind: "strip-range" });
        assert.deepEqual(
          await readBlobRange(repo, OBD_LAYER, off, len),
          LAYER.subarray(off, off + len),
        );
      }
      assert.equal(proxy.fired, 2);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /ignores Range/);
    } finally {
      repo.close();
      await proxy.close();
    }
  });
});

Deno.test("readBlobRange() retries a connection dropped in the middle of the body", async () => {
  await withRegistry(async (host) => {
    const proxy = startFaultProxy(Number(host.split(":")[1]));
    const repo = open(proxy.host);
    try {
      proxy.arm({ kind: "drop", afterBytes: 20_000 });
      proxy.arm({ kind: "drop", afterBytes: 100 });
      const got = await readBlobRange(repo, OBD_LAYER, 4096, 200_000);
      assert.deepEqual(got, LAYER.subarray(4096, 204_096));
      assert.equal(proxy.fired, 2);
    } finally {
      repo.close();
      await proxy.close();
    }
  });
});

Deno.test("readBlobRange() aborts a stalled response after the idle timeout and retries", async () => {
  await withRegistry(async (host) => {
    const proxy = startFaultProxy(Number(host.split(":")[1]));
    const repo = open(proxy.host, { retry: { ...FAST_RETRY, idleTimeoutMs: 300 } });
    try {
      proxy.arm({ kind: "stall", afterBytes: 5_000 });
      const t0 = performance.now();
      const got = await readBlobRange(repo, OBD_LAYER, 0, 100_000);
      const ms = performance.now() - t0;
      assert.deepEqual(got, LAYER.subarray(0, 100_000));
      assert.equal(proxy.fired, 1);
      assert.ok(ms >= 300 && ms < 3_000, `took ${ms} ms`);
      console.log(`stalled read recovered in ${ms.toFixed(0)} ms (idle timeout 300 ms)`);
    } finally {
      repo.close();
      await proxy.close();
    }
  });
});

Deno.test("readBlobRange() gives up with UnavailableError soon after the registry stops", async () => {
  await withRegistry(async (host, stop) => {
    const repo = open(host);
    try {
      assert.equal((await readBlobRange(repo, OBD_LAYER, 0, 10)).length, 10);
      await stop();
      const t0 = performance.now();
      await assert.rejects(
        readBlobRange(repo, OBD_LAYER, 0, 10),
        (err) =>
          err instanceof UnavailableError && err.message.includes(host) &&
          /4 attempts/.test(err.message),
      );
      const ms = performance.now() - t0;
      assert.ok(ms < 2_000, `took ${ms} ms`);
      console.log(`stopped registry reported after ${ms.toFixed(0)} ms`);
    } finally {
      repo.close();
    }
  });
});

Deno.test("readBlobRange() retries 503 answers, then gives up naming the status", async () => {
  await withRegistry(async (host) => {
    const proxy = startFaultProxy(Number(host.split(":")[1]));
    const repo = open(proxy.host);
    try {
      proxy.arm({ kind: "503" });
      proxy.arm({ kind: "503" });
      assert.deepEqual(await readBlobRange(repo, OBD_LAYER, 7, 70), LAYER.subarray(7, 77));
      for (let i = 0; i < 4; i++) proxy.arm({ kind: "503" });
      await assert.rejects(
        readBlobRange(repo, OBD_LAYER, 7, 70),
        (err) =>
          err instanceof UnavailableError && /4 attempts: status 503/.test(err.message) &&
          err.message.includes(proxy.host),
      );
      assert.equal(proxy.fired, 6);
    } finally {
      repo.close();
      await proxy.close();
    }
  });
});
