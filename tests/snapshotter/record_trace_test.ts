import assert from "node:assert/strict";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
} from "../../src/errors.ts";
import { attachRecording, recordTracePathOf } from "../../src/snapshotter/record_trace.ts";
import { decodeTrace } from "../../src/trace/mod.ts";
import { sha256, withTempDir } from "../_helpers.ts";
import { skipReason } from "../device/_privileges.ts";
import { HELLO_SHA } from "../mount/_mounted.ts";
import { mountAll, unmountAll } from "./_mount.ts";
import { CHAIN_ID, pullLabels, withObdSnapshotter } from "./_overlaybd.ts";

const RECORD = "containerd.io/snapshot/overlaybd/record-trace";
const RECORD_PATH = "containerd.io/snapshot/overlaybd/record-trace-path";

Deno.test("recordTracePathOf() reads the two record labels and wants an absolute path", () => {
  assert.equal(recordTracePathOf({}), undefined);
  assert.equal(recordTracePathOf({ [RECORD]: "no", [RECORD_PATH]: "/t" }), undefined);
  assert.equal(recordTracePathOf({ [RECORD]: "yes", [RECORD_PATH]: "/w/trace" }), "/w/trace");
  assert.throws(() => recordTracePathOf({ [RECORD]: "yes" }), InvalidArgumentError);
  assert.throws(
    () => recordTracePathOf({ [RECORD]: "yes", [RECORD_PATH]: "rel/trace" }),
    InvalidArgumentError,
  );
});

Deno.test("attachRecording() attaches with recordTracePath set, then restores the config", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/config.v1.json`;
    const config = { repoBlobUrl: "http://r/v2/x/blobs", lowers: [{ dir: "/l" }], upper: {} };
    await Deno.writeTextFile(path, JSON.stringify(config));
    const seen: unknown[] = [];
    const attach = async () => void seen.push(JSON.parse(await Deno.readTextFile(path)));
    await attachRecording(path, "/w/trace", false, attach);
    assert.equal((seen[0] as { recordTracePath: string }).recordTracePath, "/w/trace");
    assert.equal(JSON.parse(await Deno.readTextFile(path)).recordTracePath, undefined);

    // Restored when the attach fails too.
    await assert.rejects(
      attachRecording(path, "/w/trace", false, () => Promise.reject(new Error("no loop"))),
      /no loop/,
    );
    assert.equal(JSON.parse(await Deno.readTextFile(path)).recordTracePath, undefined);

    await assert.rejects(attachRecording(path, "/w/t", true, attach), FailedPreconditionError);
    await Deno.writeTextFile(path, JSON.stringify({ ...config, accelerationLayer: true }));
    await assert.rejects(attachRecording(path, "/w/t", false, attach), FailedPreconditionError);
    assert.equal(seen.length, 1);
  }));

Deno.test({
  name: "prepare() with the record labels records the reads of the container's device",
  ignore: skipReason !== undefined,
  fn: () =>
    withObdSnapshotter(async (f) => {
      await assert.rejects(f.sn.prepare("x", "", pullLabels(f.imageRef)), AlreadyExistsError);
      const trace = `${f.tmp}/trace`;
      await Deno.writeFile(trace, new Uint8Array());
      const labels = { [RECORD]: "yes", [RECORD_PATH]: trace };
      const c1 = await f.target("c1");
      await mountAll(await f.sn.prepare("c1", CHAIN_ID, labels), c1);
      await Deno.lstat(`${trace}.lock`); // recording
      const config = await Deno.readTextFile(`${f.root}/snapshots/1/block/config.v1.json`);
      assert.doesNotMatch(config, /recordTracePath/, "the next attach must not record");
      assert.equal(await sha256(await Deno.readFile(`${c1}/hello`)), HELLO_SHA);

      // Only a device opened for the recording records.
      await assert.rejects(f.sn.prepare("c2", CHAIN_ID, labels), FailedPreconditionError);

      await unmountAll(c1);
      await f.sn.remove("c1"); // the last user: the device closes and writes the trace
      await Deno.lstat(`${trace}.ok`);
      const records = decodeTrace(await Deno.readFile(trace));
      assert.ok(records.length > 0, "no reads recorded");
      assert.ok(records.every((r) => r.layerIndex === 0), "one lower layer");
    }),
});
