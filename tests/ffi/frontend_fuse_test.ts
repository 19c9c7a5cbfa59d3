import assert from "node:assert/strict";
import { FuseFrontend } from "../../ffi/frontend_fuse.ts";
import { Image } from "../../ffi/image.ts";
import { openLayer } from "../../ffi/layer.ts";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from "../../src/errors.ts";
import { sha256, vector, withTempDir } from "../_helpers.ts";

const VIEW_SHA = "bebb55afa6202cd73e8f454c04e9f7148632f7b58235f26a002df4a6ae5c26b3";
const TWELVE_MIB = 12 << 20;
/** Mounting FUSE needs root and /dev/fuse; without them these tests are skipped. */
const ignore = Deno.uid() !== 0 || !(() => {
  try {
    return Deno.statSync("/dev/fuse").isCharDevice;
  } catch {
    return false;
  }
})();
if (ignore) console.warn("skipping FuseFrontend tests: needs root and /dev/fuse");

async function mountsUnder(path: string): Promise<string[]> {
  return (await Deno.readTextFile("/proc/mounts")).split("\n").filter((l) => l.includes(path));
}

/** Runs fn with a frontend on dir/fuse and an image of layer.zfile; stops and closes in finally. */
async function withFrontend(fn: (fuse: FuseFrontend, image: Image) => Promise<void>) {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/fuse`);
    const image = Image.open([openLayer(vector("layer.zfile"))]);
    const fuse = FuseFrontend.start(`${dir}/fuse`);
    try {
      await fn(fuse, image);
    } finally {
      await fuse.stop();
      image.close();
    }
    assert.deepEqual(await mountsUnder(dir), []);
  });
}

Deno.test({
  name: "FuseFrontend.add() publishes an image as a file the kernel reads",
  ignore,
  fn: () =>
    withFrontend(async (fuse, image) => {
      const path = fuse.add("view", image);
      assert.equal(path, `${fuse.mountpoint}/view`);
      const st = await Deno.stat(path);
      assert.equal(st.size, image.size);
      assert.equal(st.mode! & 0o777, 0o444);
      const f = await Deno.open(path);
      try {
        const buf = new Uint8Array(TWELVE_MIB);
        let at = 0;
        while (at < buf.length) {
          const n = await f.read(buf.subarray(at));
          assert.ok(n !== null && n > 0);
          at += n;
        }
        assert.equal(await sha256(buf), VIEW_SHA);
      } finally {
        f.close();
      }
      assert.deepEqual([...Deno.readDirSync(fuse.mountpoint)].map((e) => e.name), ["view"]);
    }),
});

Deno.test({
  name: "FuseFrontend.remove() withdraws the file and frees the name",
  ignore,
  fn: () =>
    withFrontend(async (fuse, image) => {
      const path = fuse.add("dev", image, { writable: true });
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
      await fuse.remove("dev");
      await assert.rejects(() => Deno.stat(path), Deno.errors.NotFound);
      fuse.add("dev", image);
      await fuse.remove("dev");
    }),
});

Deno.test({
  name: "FuseFrontend reports names in use, unknown and invalid as error kinds",
  ignore,
  fn: () =>
    withFrontend(async (fuse, image) => {
      fuse.add("a", image);
      assert.throws(() => fuse.add("a", image), AlreadyExistsError);
      assert.throws(() => fuse.add("x/y", image), InvalidArgumentError);
      assert.throws(() => fuse.add("", image), InvalidArgumentError);
      await assert.rejects(() => fuse.remove("b"), NotFoundError);
    }),
});

Deno.test({
  name: "FuseFrontend.stop() is idempotent and the handle is unusable afterwards",
  ignore,
  fn: () =>
    withFrontend(async (fuse, image) => {
      await Promise.all([fuse.stop(), fuse.stop()]);
      assert.throws(() => fuse.add("late", image), TypeError);
    }),
});
