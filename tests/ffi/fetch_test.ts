import assert from "node:assert/strict";
import { FETCH_MAX_REQUEST, openFetchBridge } from "../../ffi/fetch.ts";
import { UnavailableError } from "../../src/errors.ts";
import { randomBytes } from "../_helpers.ts";

const BLOB = randomBytes(FETCH_MAX_REQUEST + 8192, 7);

/** Serves BLOB from memory, after `delayMs`. */
function memoryHandler(delayMs = 0) {
  return async (_blob: number, offset: number, into: Uint8Array<ArrayBuffer>) => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    into.set(BLOB.subarray(offset, offset + into.byteLength));
    return into.byteLength;
  };
}

Deno.test("FetchBridge.fetch() returns the bytes the handler wrote into native memory", async () => {
  const seen: number[] = [];
  const bridge = openFetchBridge((blob, offset, into) => {
    seen.push(blob);
    return memoryHandler()(blob, offset, into);
  }, 4);
  try {
    assert.deepEqual(await bridge.fetch(3, 1000, 4096), BLOB.subarray(1000, 5096));
    assert.deepEqual(await bridge.fetch(3, 8192, FETCH_MAX_REQUEST), BLOB.subarray(8192));
    assert.deepEqual(seen, [3, 3]);
    assert.equal(bridge.pending(), 0);
  } finally {
    await bridge.close();
  }
});

Deno.test("FetchBridge.fetch() throws UnavailableError when the handler rejects or writes short", async () => {
  let mode = "reject";
  const bridge = openFetchBridge((_blob, _offset, into) => {
    if (mode === "reject") return Promise.reject(new Error("registry said 503"));
    return Promise.resolve(into.byteLength - 1);
  }, 2);
  try {
    await assert.rejects(bridge.fetch(1, 0, 4096), UnavailableError);
    mode = "short";
    await assert.rejects(bridge.fetch(1, 0, 4096), UnavailableError);
  } finally {
    await bridge.close();
  }
});

Deno.test("FetchBridge.fetch() times out when the handler is too slow, and the bridge stays usable", async () => {
  let delay = 300;
  const bridge = openFetchBridge((b, o, into) => memoryHandler(delay)(b, o, into), 1);
  try {
    const t0 = performance.now();
    await assert.rejects(bridge.fetch(1, 0, 512, 50), UnavailableError);
    assert.ok(performance.now() - t0 < 250);
    delay = 0;
    // The one slot frees when the late completion arrives.
    assert.deepEqual(await bridge.fetch(1, 512, 512, 5000), BLOB.subarray(512, 1024));
  } finally {
    await bridge.close();
  }
});

Deno.test("FetchBridge serves many concurrent requests with few slots", async () => {
  const bridge = openFetchBridge(memoryHandler(1), 3);
  try {
    const offsets = Array.from({ length: 64 }, (_, i) => i * 5000);
    const got = await Promise.all(offsets.map((o) => bridge.fetch(2, o, 4096)));
    got.forEach((g, i) => assert.deepEqual(g, BLOB.subarray(offsets[i], offsets[i] + 4096)));
  } finally {
    await bridge.close();
  }
});

Deno.test("FetchBridge.close() fails a request whose handler never finishes, without hanging", async () => {
  let started!: () => void;
  const running = new Promise<void>((r) => started = r);
  const bridge = openFetchBridge((_b, _o, _into, signal) => {
    started();
    return new Promise((_, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason))
    );
  }, 1);
  const read = bridge.fetch(1, 0, 4096, 0).then(() => null, (e: unknown) => e);
  await running;
  await bridge.close();
  assert.ok(await read instanceof UnavailableError);
  await bridge.close(); // idempotent
});

Deno.test("FetchBridge.measure() times native round trips", async () => {
  const bridge = openFetchBridge(memoryHandler(), 2);
  try {
    const ns = await bridge.measure(1, 4096, 200);
    assert.equal(ns.length, 200);
    assert.ok(ns.every((t) => t > 0n));
  } finally {
    await bridge.close();
  }
});

Deno.test("an idle FetchBridge does not keep the process alive", async () => {
  const mod = new URL("../../ffi/fetch.ts", import.meta.url).href;
  const code = `import { openFetchBridge } from "${mod}";
    const b = openFetchBridge(async (_b, _o, into) => into.byteLength, 1);
    await b.fetch(1, 0, 16);
    console.log("served");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(out.code, 0);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "served");
});
