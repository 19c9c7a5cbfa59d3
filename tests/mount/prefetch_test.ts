/**
 * Trace record and replay through `overlaybd mount` (the daemon, FUSE, loop,
 * ext4) of the hello image read lazily from a real registry: the record
 * lifecycle of spec §8.1 (lock file, trace, `.ok`), then mounts with a fresh
 * cache that replay the trace, prefetch a list, or skip a corrupt trace,
 * checked with the daemon's per-mount fetch counter.
 */
import assert from "node:assert/strict";
import { callDaemon, waitForDaemonExit } from "../../src/mount/mod.ts";
import type { MountInfo } from "../../src/mount/mod.ts";
import { decodeTrace } from "../../src/trace/mod.ts";
import { sha256 } from "../_helpers.ts";
import {
  BLOB_DIGEST,
  BLOB_SIZE,
  HELLO_SHA,
  type MountFixture,
  withHelloRegistry,
} from "./_mounted.ts";

const isRoot = Deno.uid() === 0;

async function until<T>(what: string, get: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function mountInfo(f: MountFixture): Promise<MountInfo> {
  const reply = await callDaemon(f.runDir, { op: "list" });
  const m = reply.mounts?.find((x) => x.dir === f.mnt);
  if (!m) throw new Error(`${f.mnt} is not mounted`);
  return m;
}

/** Mounts the hello image with `extra` config keys and a cache as empty as a new host's. */
async function mountWith(f: MountFixture, extra: Record<string, unknown>): Promise<void> {
  await Deno.remove(`${f.tmp}/unused-cache`, { recursive: true }).catch(() => {});
  const config = `${f.tmp}/config.v1.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      repoBlobUrl: `http://${f.registry.host}/v2/hello-world/blobs`,
      lowers: [{ digest: BLOB_DIGEST, size: BLOB_SIZE }],
      upper: {},
      resultFile: "",
      ...extra,
    }),
  );
  const r = await f.mountSource(config);
  assert.equal(r.code, 0, r.stderr);
}

async function umount(f: MountFixture): Promise<void> {
  const r = await f.umount();
  assert.equal(r.code, 0, r.stderr);
  await waitForDaemonExit(f.runDir);
}

/** Waits for the mount's prefetch to finish, reads /hello, returns what the read fetched. */
async function readAfterPrefetch(f: MountFixture) {
  const done = await until("prefetch", async () => {
    const m = await mountInfo(f);
    return m.prefetch?.state === "done" ? m : undefined;
  });
  const hello = await sha256(await Deno.readFile(`${f.mnt}/hello`));
  const after = await mountInfo(f);
  return { hello, prefetch: done.prefetch!, demandBytes: after.bytesFetched! - done.bytesFetched! };
}

Deno.test({
  name:
    "overlaybd mount records a trace of /hello and a fresh mount that replays it fetches nothing more",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({ refillSize: 4096 }, async (f) => {
      // Record (spec §8.1): an empty recordTracePath.
      const trace = `${f.tmp}/trace`;
      await Deno.writeFile(trace, new Uint8Array());
      await mountWith(f, { recordTracePath: trace });
      assert.ok(await exists(`${trace}.lock`), "recording made the lock file");
      assert.equal(await sha256(await Deno.readFile(`${f.mnt}/hello`)), HELLO_SHA);
      const recording = await mountInfo(f);
      assert.equal(recording.prefetch?.mode, "record");
      assert.equal(recording.prefetch?.state, "recording");
      const coldBytes = recording.bytesFetched!;
      await Deno.remove(`${trace}.lock`); // stop recording; the daemon looks every second
      await until(".ok", async () => (await exists(`${trace}.ok`)) || undefined, 5000);
      const records = decodeTrace(await Deno.readFile(trace));
      assert.ok(records.length > 10, `${records.length} records`);
      assert.ok(records.every((r) => r.op === "R" && r.layerIndex === 0));
      assert.equal((await mountInfo(f)).prefetch?.state, "dumped");
      assert.equal((await mountInfo(f)).prefetch?.records, records.length);
      await umount(f);

      // Replay on a fresh cache: /hello is in the cache before it is read.
      await mountWith(f, { recordTracePath: trace });
      const replay = await readAfterPrefetch(f);
      assert.equal(replay.hello, HELLO_SHA);
      assert.equal(replay.prefetch.mode, "replay");
      assert.equal(replay.prefetch.replayed, records.length);
      assert.equal(replay.prefetch.failures, 0);
      assert.equal(replay.demandBytes, 0, "reading /hello fetched nothing more");
      console.log(
        `  mount + read /hello: ${coldBytes} bytes fetched cold; with replay ` +
          `${replay.prefetch.bytes} bytes prefetched, ${replay.demandBytes} on demand`,
      );
      await umount(f);
    }),
});

Deno.test({
  name: "overlaybd mount with a prefetch list of /hello fetches its blocks before it is read",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({ refillSize: 4096 }, async (f) => {
      await Deno.writeTextFile(`${f.tmp}/list`, "/hello\n");
      await mountWith(f, { recordTracePath: `${f.tmp}/list` });
      const r = await readAfterPrefetch(f);
      assert.equal(r.hello, HELLO_SHA);
      assert.equal(r.prefetch.mode, "list");
      assert.equal(r.prefetch.bytes, 13312);
      assert.equal(r.demandBytes, 0);
      await umount(f);
    }),
});

Deno.test({
  name: "overlaybd mount skips a corrupt trace with a log line and reads lazily",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({ refillSize: 4096 }, async (f) => {
      const trace = new Uint8Array(48);
      new DataView(trace.buffer).setUint32(0, 0xc2ef1820, true); // magic; checksum wrong
      trace[8] = 24;
      trace[24] = 0x52;
      await Deno.writeFile(`${f.tmp}/trace`, trace);
      await mountWith(f, { recordTracePath: `${f.tmp}/trace` });
      assert.equal((await mountInfo(f)).prefetch, undefined);
      const before = (await mountInfo(f)).bytesFetched!;
      assert.equal(await sha256(await Deno.readFile(`${f.mnt}/hello`)), HELLO_SHA);
      assert.ok((await mountInfo(f)).bytesFetched! > before, "read lazily");
      await umount(f);
      const log = await Deno.readTextFile(`${f.runDir}/mountd.log`);
      assert.match(log, /trace .*\/trace skipped: trace: checksum/);
    }),
});
