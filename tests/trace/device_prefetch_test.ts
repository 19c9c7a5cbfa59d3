import assert from "node:assert/strict";
import { Image } from "../../ffi/image.ts";
import { openLayer } from "../../ffi/layer.ts";
import {
  encodeTrace,
  openTracedLayer,
  startDevicePrefetch,
  TraceRecorder,
} from "../../src/trace/mod.ts";
import { vector } from "../_helpers.ts";

const HELLO =
  "upstream/hello-world-registry/blobs/sha256/022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d";

Deno.test("startDevicePrefetch() replays a trace and reports it done", async () => {
  const image = Image.open([openLayer(vector("overlaybd.commit"))]);
  const trace = encodeTrace([
    { op: "R", layerIndex: 0, count: 65536, offset: 0 },
    { op: "R", layerIndex: 0, count: 65536, offset: 1 << 20 },
  ]);
  const lines: string[] = [];
  const p = await startDevicePrefetch({ kind: "replay", path: "/t", trace }, image, {
    concurrency: 16,
    log: (l) => lines.push(l),
  });
  await p.settled();
  assert.deepEqual(p.status(), {
    mode: "replay",
    path: "/t",
    state: "done",
    records: 2,
    replayed: 2,
    bytes: 131072,
    failures: 0,
    yieldMs: 0,
  });
  await p.close();
  await p.close();
  assert.equal(p.status()?.state, "done");
  image.close();
  assert.match(lines[0], /replaying \/t with 16 workers/);
});

Deno.test("startDevicePrefetch() skips a corrupt trace with a log line", async () => {
  const image = Image.open([openLayer(vector("overlaybd.commit"))]);
  const trace = encodeTrace([{ op: "R", layerIndex: 0, count: 4096, offset: 0 }]);
  trace[20] = 1; // header padding is ignored...
  trace[16] ^= 1; // ...the checksum is not
  const lines: string[] = [];
  const p = await startDevicePrefetch({ kind: "replay", path: "/t", trace }, image, {
    concurrency: 4,
    log: (l) => lines.push(l),
  });
  assert.equal(p.status(), undefined);
  await p.close();
  image.close();
  assert.match(lines.join("\n"), /trace \/t skipped: trace: checksum/);
});

Deno.test("startDevicePrefetch() prefetches the files of a list", async () => {
  const image = Image.open([openLayer(vector(HELLO))]);
  const p = await startDevicePrefetch(
    { kind: "list", path: "/l", paths: ["/hello"] },
    image,
    { concurrency: 4, log: () => {} },
  );
  await p.settled();
  const s = p.status()!;
  assert.equal(s.mode, "list");
  assert.equal(s.state, "done");
  assert.equal(s.bytes, 13312);
  await p.close();
  image.close();
});

Deno.test("startDevicePrefetch() records until closed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/trace`, new Uint8Array());
    const recorder = TraceRecorder.create();
    const image = Image.open([openTracedLayer(vector("overlaybd.commit"), recorder, 0)]);
    let ended = false;
    const p = await startDevicePrefetch({ kind: "record", path: `${dir}/trace` }, image, {
      concurrency: 4,
      recorder,
      log: () => {},
      onRecordingEnd: () => ended = true,
    });
    assert.equal(p.status()?.state, "recording");
    await p.close();
    await p.settled();
    image.close();
    assert.ok(ended);
    assert.equal(p.status()?.state, "dumped");
    assert.ok((p.status()?.records ?? 0) > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
