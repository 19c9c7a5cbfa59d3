import assert from "node:assert/strict";
import { conversionProgress, progressLine } from "../../src/cli/conversion_progress.ts";

const done = {
  index: 1,
  count: 3,
  source: "sha256:src",
  blob: { digest: "sha256:out", size: 2_500_000 },
  reused: false,
  tarBytes: 10_000_000,
  seconds: 2,
};

Deno.test("progressLine() gives bytes, rate and an ETA from the blob decoded so far", () => {
  assert.equal(
    progressLine(0, 50e6, { read: 10e6, size: 40e6, decoded: 50e6 }, 2),
    "layer 1: 50.0 MB of tar, 25.0 MB/s, blob 25% of 40.0 MB, ETA 6 s",
  );
  // The decoder ran ahead: all of the blob decoded (200 MB of tar), 100 MB applied.
  assert.equal(
    progressLine(0, 100e6, { read: 40e6, size: 40e6, decoded: 200e6 }, 5),
    "layer 1: 100.0 MB of tar, 20.0 MB/s, blob 100% of 40.0 MB, ETA 5 s",
  );
  assert.match(
    progressLine(2, 1e6, { read: 1, size: 1e9, decoded: 1e6 }, 100),
    /ETA \d+ min \d\d s$/,
  );
  assert.match(progressLine(0, 0, { read: 0, size: 10, decoded: 0 }, 0), /ETA \?$/);
});

Deno.test("conversionProgress() redraws one line on a terminal and clears it before a layer line", async () => {
  const out: string[] = [];
  const p = conversionProgress(true, (t) => out.push(t));
  p.onProgress(0, 1e6, { read: 1, size: 10, decoded: 1e6 }); // starts the layer's clock
  await new Promise((r) => setTimeout(r, 250));
  p.onProgress(0, 2e6, { read: 2, size: 10, decoded: 2e6 });
  assert.equal(out.length, 1);
  assert.ok(out[0].startsWith("\r\x1b[Klayer 1: 2.0 MB of tar, "), JSON.stringify(out[0]));
  assert.match(out[0], /MB\/s, blob 20% of 0\.0 kB, ETA /);
  p.onLayer(done);
  assert.equal(out[1], "\r\x1b[K");
  assert.match(
    out[2],
    /^layer 2\/3 sha256:src: 10\.0 MB of tar in 2\.00 s \(5\.0 MB\/s\) -> sha256:out/,
  );
  p.finish();
  assert.equal(out.length, 3, "nothing left to clear");
});

Deno.test("conversionProgress() writes whole lines, at most every 5 s, when not on a terminal", () => {
  const out: string[] = [];
  const p = conversionProgress(false, (t) => out.push(t));
  for (let i = 0; i < 100; i++) p.onProgress(0, i * 1e6, { read: i, size: 100, decoded: i * 1e6 });
  assert.deepEqual(out, []);
  p.onLayer({ ...done, reused: true, tarBytes: 0, seconds: 0 });
  assert.deepEqual(out, ["layer 2/3 sha256:src: reused sha256:out (2.5 MB)\n"]);
  p.finish();
  assert.equal(out.length, 1);
});
