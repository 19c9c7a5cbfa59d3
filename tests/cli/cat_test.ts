import assert from "node:assert/strict";
import { runCli, sha256, vector } from "../_helpers.ts";

Deno.test("overlaybd cat of overlaybd.commit prints view.raw", async () => {
  const r = await runCli(["cat", "--length", String(12 << 20), vector("overlaybd.commit")]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await sha256(r.stdout as Uint8Array<ArrayBuffer>),
    "bebb55afa6202cd73e8f454c04e9f7148632f7b58235f26a002df4a6ae5c26b3",
  );
});

Deno.test("overlaybd cat --upper stacks a writable layer", async () => {
  const r = await runCli([
    "cat",
    "--length",
    String(12 << 20),
    "--upper",
    `${vector("upper/writable_data")},${vector("upper/writable_index")}`,
    vector("layer.lsmt"),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await sha256(r.stdout as Uint8Array<ArrayBuffer>),
    "d6ad70c810be4ad53212655f07e4d3f29affd972555e1695e83efcdbe271cb47",
  );
});

Deno.test("overlaybd cat --offset --length slices the view", async () => {
  const r = await runCli(["cat", "--offset", "1000", "--length", "3000", vector("layer.zfile")]);
  assert.equal(r.code, 0, r.stderr);
  const raw = await Deno.readFile(vector("view.raw"));
  assert.deepEqual(r.stdout, raw.subarray(1000, 4000));
});

Deno.test("overlaybd cat of a file that is not a layer explains itself", async () => {
  const r = await runCli(["cat", vector("view.raw")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /view\.raw/);
  assert.match(r.stderr, /inspect/);
});
