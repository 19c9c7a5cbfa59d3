import assert from "node:assert/strict";
import { CorruptDataError } from "../../src/errors.ts";
import { buildAccelerationLayer, traceOfAccelerationLayer } from "../../src/trace/mod.ts";
import { randomBytes, withTempDir } from "../_helpers.ts";

Deno.test("traceOfAccelerationLayer() gives back the trace buildAccelerationLayer() packed", async () => {
  for (const size of [0, 1, 511, 512, 513, 70_000]) {
    const trace = randomBytes(size, size + 1);
    const layer = await buildAccelerationLayer(trace);
    assert.deepEqual(traceOfAccelerationLayer(layer.blob), trace);
  }
});

Deno.test("traceOfAccelerationLayer() finds ./trace after other entries of a GNU tar", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/in/etc`, { recursive: true });
    await Deno.writeTextFile(`${dir}/in/etc/hostname`, "x".repeat(700));
    await Deno.writeTextFile(`${dir}/in/trace`, "/usr/bin/python3\n");
    const out = await new Deno.Command("tar", {
      args: ["-cf", "-", "-C", `${dir}/in`, "./etc", "./trace"],
      stdout: "piped",
    }).output();
    assert.ok(out.success);
    const got = traceOfAccelerationLayer(out.stdout);
    assert.equal(new TextDecoder().decode(got), "/usr/bin/python3\n");
  }));

Deno.test("traceOfAccelerationLayer() rejects a tar without trace and a truncated one", async () => {
  const layer = await buildAccelerationLayer(randomBytes(2000, 3));
  assert.throws(() => traceOfAccelerationLayer(new Uint8Array(1024)), CorruptDataError);
  assert.throws(() => traceOfAccelerationLayer(layer.blob.slice(0, 1500)), CorruptDataError);
  const renamed = layer.blob.slice();
  renamed.set(new TextEncoder().encode("trade"), 0);
  assert.throws(() => traceOfAccelerationLayer(renamed), CorruptDataError);
  const badSize = layer.blob.slice();
  badSize.set(new TextEncoder().encode("9"), 124);
  assert.throws(() => traceOfAccelerationLayer(badSize), CorruptDataError);
});
