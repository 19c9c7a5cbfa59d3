import assert from "node:assert/strict";
import { Image } from "../../ffi/image.ts";
import { openLayer } from "../../ffi/layer.ts";
import { createWritableLayer, openWritableLayer } from "../../ffi/lsmt.ts";
import {
  type DeviceHost,
  mountExt4,
  mountImage,
  openDeviceHost,
  unmount,
  unmountImage,
} from "../../src/device/mod.ts";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../../src/errors.ts";
import { randomBytes, sha256File, vector, withTempDir } from "../_helpers.ts";
import { attachedLoops, mountsUnder, skipReason } from "./_privileges.ts";

const HELLO_BLOB = vector(
  "upstream/hello-world-registry/blobs/sha256/" +
    "022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d",
);
const HELLO_SHA = "d3f7d10e296e5c626ea78539cb38cd8dffd043bea3627da35ce3b20c0ac68014";
const ignore = skipReason !== undefined;

function helloImage(upper?: { data: string; index: string; create: boolean }): Image {
  const lower = openLayer(HELLO_BLOB);
  if (!upper) return Image.open([lower]);
  const rw = upper.create
    ? createWritableLayer(upper.data, upper.index, { virtualSize: 0 })
    : openWritableLayer(upper.data, upper.index);
  return Image.open([lower], rw);
}

/**
 * What `e2fsck -fn` finds in the untouched upstream hello-world filesystem:
 * its converter left /lost+found with a stale HTREE index. A written image
 * must show nothing more.
 */
const PRISTINE_PROBLEMS = [
  "Problem in HTREE directory inode 11: block #2 not referenced",
  "Invalid HTREE directory inode 11 (/lost+found).  Clear HTree index? no",
];

async function fsckProblems(device: string): Promise<string[]> {
  const out = await new Deno.Command("e2fsck", { args: ["-fn", device] }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((l) => l.startsWith("Problem") || l.endsWith("? no"));
}

/** Runs fn with a host on dir/fuse, closes it in finally, then checks nothing is left. */
async function withHost(dir: string, fn: (host: DeviceHost) => Promise<void>): Promise<void> {
  const host = await openDeviceHost({ fuseDir: `${dir}/fuse` });
  try {
    await fn(host);
  } finally {
    for (const m of (await mountsUnder(dir)).reverse()) {
      if (!m.startsWith("overlaybd ")) await unmount(m.split(" ")[1]).catch(() => {});
    }
    await host.close();
  }
  assert.deepEqual(await mountsUnder(dir), []);
  assert.ok(!(await attachedLoops()).includes(dir), "a loop device still uses a test file");
}

Deno.test({
  name: "attach() serves the hello-world layer: ext4 mounts read-only and /hello matches",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/mnt`);
      await withHost(dir, async (host) => {
        const dev = await host.attach("hello", helloImage(), { readOnly: true });
        assert.equal(dev.file, `${dir}/fuse/hello`);
        assert.match(dev.loopDevice, /^\/dev\/loop\d+$/);
        assert.ok(dev.directIo, "loop device fell back to buffered I/O");
        assert.equal((await Deno.stat(dev.file)).size, 64 * 2 ** 30);
        await mountExt4(dev.loopDevice, `${dir}/mnt`, { readOnly: true });
        try {
          assert.equal((await Deno.stat(`${dir}/mnt/hello`)).size, 13256);
          assert.equal(await sha256File(`${dir}/mnt/hello`), HELLO_SHA);
        } finally {
          await unmount(`${dir}/mnt`);
        }
        await host.detach("hello");
        assert.deepEqual(host.devices(), []);
        await assert.rejects(() => Deno.stat(dev.file), Deno.errors.NotFound);
      });
    }),
});

Deno.test({
  name: "attach() of a writable image keeps what ext4 wrote for the next mount",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/mnt`);
      const upper = { data: `${dir}/upper.data`, index: `${dir}/upper.index` };
      const payload = randomBytes(300_000, 7);
      await withHost(dir, async (host) => {
        const image = helloImage({ ...upper, create: true });
        await mountImage(host, "rw", image, `${dir}/mnt`, { readOnly: false });
        try {
          await Deno.writeFile(`${dir}/mnt/written`, payload);
        } finally {
          await unmountImage(host, "rw", `${dir}/mnt`);
        }
        const again = helloImage({ ...upper, create: false });
        const check = await host.attach("check", again, { readOnly: true });
        assert.deepEqual(await fsckProblems(check.loopDevice), PRISTINE_PROBLEMS);
        await host.detach("check");
        const reopened = helloImage({ ...upper, create: false });
        const dev = await mountImage(host, "ro", reopened, `${dir}/mnt`, { readOnly: true });
        try {
          assert.ok(dev.readOnly);
          assert.deepEqual(await Deno.readFile(`${dir}/mnt/written`), payload);
          assert.equal(await sha256File(`${dir}/mnt/hello`), HELLO_SHA);
        } finally {
          await unmountImage(host, "ro", `${dir}/mnt`);
        }
      });
      // The lower blob was never written: the upper holds the new file.
      assert.ok((await Deno.stat(upper.data)).size > payload.length);
    }),
});

Deno.test({
  name: "detach() refuses while the loop device is mounted",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/mnt`);
      await withHost(dir, async (host) => {
        const dev = await mountImage(host, "hello", helloImage(), `${dir}/mnt`, {
          readOnly: true,
        });
        await assert.rejects(() => host.detach("hello"), FailedPreconditionError);
        assert.deepEqual(host.devices(), [dev]);
        await unmountImage(host, "hello", `${dir}/mnt`);
        await assert.rejects(() => host.detach("hello"), NotFoundError);
      });
    }),
});

Deno.test({
  name: "attach() rejects a name in use and closes the image it was given",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await withHost(dir, async (host) => {
        await host.attach("a", helloImage(), { readOnly: true });
        const second = helloImage();
        await assert.rejects(
          () => host.attach("a", second, { readOnly: true }),
          AlreadyExistsError,
        );
        assert.throws(() => second.ptr, TypeError);
        // Left attached on purpose: close() must detach it.
      });
    }),
});

Deno.test({
  name: "mountImage() detaches the device when the filesystem does not mount",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/mnt`);
      await withHost(dir, async (host) => {
        // layer.lsmt's view is test data, not ext4.
        const image = Image.open([openLayer(vector("layer.lsmt"))]);
        await assert.rejects(
          () => mountImage(host, "junk", image, `${dir}/mnt`, { readOnly: true }),
          /mount \/dev\/loop\d+ on/,
        );
        assert.deepEqual(host.devices(), []);
        assert.ok(!(await attachedLoops()).includes(dir));
      });
    }),
});

Deno.test({
  name: "close() is idempotent and refuses later attaches",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const host = await openDeviceHost({ fuseDir: `${dir}/fuse` });
      await host.attach("hello", helloImage(), { readOnly: true });
      await Promise.all([host.close(), host.close()]);
      await host.close();
      await assert.rejects(
        () => host.attach("x", helloImage(), { readOnly: true }),
        FailedPreconditionError,
      );
      assert.deepEqual(await mountsUnder(dir), []);
      assert.ok(!(await attachedLoops()).includes(dir));
    }),
});
