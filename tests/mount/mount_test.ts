import assert from "node:assert/strict";
import { openView } from "../../src/layer/mod.ts";
import { sha256, vector } from "../_helpers.ts";
import { startFaultProxy } from "../registry/_fault_proxy.ts";
import {
  BLOB_SIZE,
  cachedBytes,
  dataRuns,
  dropCaches,
  HELLO_BLOB,
  HELLO_SHA,
  isMounted,
  readAllData,
  withHelloRegistry,
} from "./_mounted.ts";

const isRoot = Deno.uid() === 0;

async function losetupList(): Promise<string> {
  const out = await new Deno.Command("losetup", { args: ["-a"] }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: "overlaybd mount reads /hello lazily from a real registry and umount leaves nothing",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({}, async (f) => {
      let r = await f.mount();
      assert.equal(r.code, 0, r.stderr);
      assert.ok(await isMounted(f.mnt));
      const hello = await Deno.readFile(`${f.mnt}/hello`);
      assert.equal(await sha256(hello), HELLO_SHA);
      // Lazy: far less than the blob came over the network (64 KiB pages).
      const cached = await cachedBytes(f.cacheDir);
      assert.ok(cached > 0 && cached < BLOB_SIZE / 2, `cached ${cached} of ${BLOB_SIZE} bytes`);

      // A second mount of the same image shares the cache: reading /hello fetches nothing new.
      const second = `${f.tmp}/mnt2`;
      await Deno.mkdir(second);
      r = await f.mount([], f.registry.host, second);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sha256(await Deno.readFile(`${second}/hello`)), HELLO_SHA);
      assert.equal(await cachedBytes(f.cacheDir), cached);
      r = await f.umount(second);
      assert.equal(r.code, 0, r.stderr);

      r = await f.umount();
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!(await isMounted(f.mnt)));
      assert.ok(!(await isMounted(`${f.runDir}/fuse`)), "the daemon stopped and unmounted FUSE");
      assert.ok(!(await losetupList()).includes(f.runDir), "no loop device is left");
    }),
});

Deno.test({
  name: "overlaybd mount with htpasswd auth needs --user and says so",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry(
      { basic: { username: "obd", password: "s3cret" }, pushUser: "obd:s3cret" },
      async (f) => {
        let r = await f.mount();
        assert.equal(r.code, 1);
        assert.match(r.stderr, /requires credentials/);
        assert.ok(!(await isMounted(f.mnt)));
        r = await f.mount(["--user", "obd:wrong"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /rejected the credentials of user obd/);
        r = await f.mount(["--user", "obd:s3cret"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await sha256(await Deno.readFile(`${f.mnt}/hello`)), HELLO_SHA);
        assert.equal((await f.umount()).code, 0);
      },
    ),
});

Deno.test({
  name:
    "with the registry gone, cached data still reads and uncached reads fail with EIO, not a hang",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({}, async (f) => {
      const r = await f.mount();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sha256(await Deno.readFile(`${f.mnt}/hello`)), HELLO_SHA);
      await f.registry.stop();
      await dropCaches();
      assert.equal(await sha256(await Deno.readFile(`${f.mnt}/hello`)), HELLO_SHA, "cached");
      const started = Date.now();
      assert.match(await readAllData(`${f.runDir}/fuse/dev0`), /Input\/output error/);
      assert.ok(Date.now() - started < 60_000, "the failure came in bounded time");
      assert.equal((await f.umount()).code, 0);
    }),
});

Deno.test({
  name:
    "corrupted bytes from the registry give EIO and a log line naming the blob, never wrong data",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({ refillSize: 4096 }, async (f) => {
      const proxy = startFaultProxy(f.registry.port);
      try {
        const r = await f.mount([], proxy.host);
        assert.equal(r.code, 0, r.stderr);
        // From now on every range response has one byte flipped.
        for (let i = 0; i < 20000; i++) proxy.arm({ kind: "flip", afterBytes: 1500 });
        const truth = openView([vector(HELLO_BLOB)]);
        const want = new Uint8Array(65536);
        const got = new Uint8Array(65536);
        let failed = 0;
        let wrong = 0;
        try {
          using dev = await Deno.open(`${f.runDir}/fuse/dev0`);
          // 8 MiB of data runs is plenty: each 4 KiB page fetched now is corrupt.
          let budget = 8 << 20;
          for (const [start, end] of dataRuns()) {
            for (let pos = start; pos < end && budget > 0; pos += got.length) {
              const n = Math.min(got.length, end - pos);
              budget -= n;
              await dev.seek(pos, Deno.SeekMode.Start);
              const ok = await dev.read(got.subarray(0, n)).then(() => true, () => false);
              if (!ok) {
                failed++;
                continue;
              }
              truth.pread(want.subarray(0, n), pos);
              if (!want.subarray(0, n).every((b, i) => b === got[i])) wrong++;
            }
          }
        } finally {
          truth.close();
        }
        assert.ok(proxy.fired > 0, "faults fired");
        assert.ok(failed > 0, "corrupted ranges failed");
        assert.equal(wrong, 0, "no read returned wrong bytes");
        const log = await Deno.readTextFile(`${f.runDir}/mountd.log`);
        assert.match(log, /022231c3f1af70e0/, "the log names the blob");
        assert.match(log, /crc mismatch/i);
        assert.equal((await f.umount()).code, 0);
      } finally {
        await proxy.close();
      }
    }),
});

Deno.test({
  name: "a connection dropped in the middle of a range is retried and the bytes are right",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({}, async (f) => {
      const proxy = startFaultProxy(f.registry.port);
      try {
        proxy.arm({ kind: "drop", afterBytes: 2000 });
        proxy.arm({ kind: "drop", afterBytes: 300 });
        const r = await f.mount([], proxy.host);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await sha256(await Deno.readFile(`${f.mnt}/hello`)), HELLO_SHA);
        assert.equal(proxy.fired, 2);
        assert.equal((await f.umount()).code, 0);
      } finally {
        await proxy.close();
      }
    }),
});

Deno.test({
  name: "overlaybd umount cleans up after a mount daemon that was killed",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({}, async (f) => {
      let r = await f.mount();
      assert.equal(r.code, 0, r.stderr);
      const pid = Number((await Deno.readTextFile(`${f.runDir}/mountd.pid`)).trim());
      Deno.kill(pid, "SIGKILL");
      for (
        let i = 0;
        i < 100 && (await Deno.stat(`/proc/${pid}`).then(() => true, () => false));
        i++
      ) {
        await new Promise((res) => setTimeout(res, 50));
      }
      r = await f.umount();
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!(await isMounted(f.mnt)), "the filesystem is unmounted");
      assert.ok(!(await isMounted(`${f.runDir}/fuse`)), "the dead FUSE mount is gone");
      const loops = new TextDecoder().decode(
        (await new Deno.Command("losetup", { args: ["-a"] }).output()).stdout,
      );
      assert.ok(!loops.includes(f.runDir), "no loop device is left");
    }),
});
