import assert from "node:assert/strict";
import type { DeviceConfig } from "../../src/config/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { encodeTrace, planPrefetch } from "../../src/trace/mod.ts";
import { withTempDir } from "../_helpers.ts";

function config(extra: Partial<DeviceConfig>): DeviceConfig {
  return {
    repoBlobUrl: "",
    lowers: [{ file: "/layers/0" }, { file: "/layers/1" }],
    upper: {},
    resultFile: "",
    ...extra,
  };
}

const TRACE = encodeTrace([{ op: "R", layerIndex: 0, count: 4096, offset: 0 }]);

Deno.test("planPrefetch() records into an empty recordTracePath", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/trace`, new Uint8Array());
    const plan = await planPrefetch(config({ recordTracePath: `${dir}/trace` }));
    assert.deepEqual(plan.mode, { kind: "record", path: `${dir}/trace` });
    assert.equal(plan.config.lowers.length, 2);
  });
});

Deno.test("planPrefetch() replays a trace and reads anything else as a list", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/trace`, TRACE);
    let plan = await planPrefetch(config({ recordTracePath: `${dir}/trace` }));
    assert.equal(plan.mode.kind, "replay");
    assert.deepEqual(plan.mode.kind === "replay" && plan.mode.trace, TRACE);
    await Deno.writeTextFile(`${dir}/list`, "/hello\n/usr/*\n");
    plan = await planPrefetch(config({ recordTracePath: `${dir}/list` }));
    assert.deepEqual(plan.mode, { kind: "list", path: `${dir}/list`, paths: ["/hello", "/usr/"] });
  });
});

Deno.test("planPrefetch() skips a missing file and an oversized list, saying why", async () => {
  await withTempDir(async (dir) => {
    let plan = await planPrefetch(config({ recordTracePath: `${dir}/none` }));
    assert.deepEqual(plan.mode, { kind: "none" });
    assert.match(plan.skipped ?? "", /does not exist/);
    await Deno.writeTextFile(`${dir}/list`, "/a\n".repeat(30000));
    plan = await planPrefetch(config({ recordTracePath: `${dir}/list` }));
    assert.deepEqual(plan.mode, { kind: "none" });
    assert.match(plan.skipped ?? "", /larger than 65536/);
  });
});

Deno.test("planPrefetch() pops the acceleration layer and replays <its dir>/trace", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/trace`, TRACE);
    const c = config({ accelerationLayer: true });
    c.lowers.push({ dir });
    const plan = await planPrefetch(c);
    assert.deepEqual(plan.config.lowers, [{ file: "/layers/0" }, { file: "/layers/1" }]);
    assert.equal(plan.mode.kind, "replay");
    assert.equal(c.lowers.length, 3, "the caller's config is left alone");
    // No trace in the layer: the layer is still popped, nothing is prefetched.
    await Deno.remove(`${dir}/trace`);
    const none = await planPrefetch(c);
    assert.equal(none.config.lowers.length, 2);
    assert.deepEqual(none.mode, { kind: "none" });
  });
});

Deno.test("planPrefetch() refuses accelerationLayer with recordTracePath", async () => {
  await assert.rejects(
    planPrefetch(config({ accelerationLayer: true, recordTracePath: "/tmp/t" })),
    InvalidArgumentError,
  );
  await assert.rejects(
    planPrefetch(config({ accelerationLayer: true, lowers: [{ dir: "/x" }] })),
    InvalidArgumentError,
  );
});
