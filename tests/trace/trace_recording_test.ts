import assert from "node:assert/strict";
import { Image } from "../../ffi/image.ts";
import {
  decodeTrace,
  openTracedLayer,
  startTraceRecording,
  TraceRecorder,
} from "../../src/trace/mod.ts";
import { vector, withTempDir } from "../_helpers.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function until(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("startTraceRecording() writes the trace once the lock file is deleted", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/trace`;
    await Deno.writeFile(path, new Uint8Array());
    await Deno.writeFile(`${path}.ok`, new Uint8Array()); // from an earlier run
    const recorder = TraceRecorder.create();
    const image = Image.open([openTracedLayer(vector("overlaybd.commit"), recorder, 0)]);
    const lines: string[] = [];
    let ended = 0;
    const rec = await startTraceRecording({
      path,
      recorder,
      log: (l) => lines.push(l),
      pollMs: 50,
      onEnd: () => ended++,
    });
    try {
      assert.ok(await exists(`${path}.lock`));
      assert.ok(!(await exists(`${path}.ok`)), "a stale .ok is removed");
      assert.equal(rec.state, "recording");
      const atOpen = rec.records;
      image.pread(new Uint8Array(65536), 8 << 20);
      assert.ok(atOpen >= 2 && rec.records > atOpen, `${atOpen} then ${rec.records} records`);
      await Deno.remove(`${path}.lock`);
      await until(".ok", () => exists(`${path}.ok`));
      assert.equal(rec.state, "dumped");
      image.pread(new Uint8Array(65536), 9 << 20); // not recorded any more
      const records = decodeTrace(await Deno.readFile(path));
      assert.equal(records.length, rec.records);
      assert.deepEqual(records[0].offset, 0); // the open's header read
      assert.equal(ended, 1);
      assert.match(lines.join("\n"), /records written/);
      await rec.stop(); // already done: nothing more happens
      assert.equal(ended, 1);
    } finally {
      await rec.stop();
      image.close();
    }
  });
});

Deno.test("TraceRecording.stop() dumps the trace when the device closes first", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/trace`;
    await Deno.writeFile(path, new Uint8Array());
    const recorder = TraceRecorder.create();
    const image = Image.open([openTracedLayer(vector("overlaybd.commit"), recorder, 0)]);
    const rec = await startTraceRecording({ path, recorder, log: () => {} });
    image.pread(new Uint8Array(4096), 0);
    await rec.stop();
    image.close();
    assert.equal(rec.state, "dumped");
    assert.ok(!(await exists(`${path}.lock`)));
    assert.ok(await exists(`${path}.ok`));
    assert.equal(decodeTrace(await Deno.readFile(path)).length, rec.records);
  });
});
