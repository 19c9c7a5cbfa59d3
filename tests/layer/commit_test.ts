import assert from "node:assert/strict";
import { commitLayer, createLayer, inspectFile } from "../../src/layer/mod.ts";
import { openView, readView } from "../../src/layer/mod.ts";
import { openWritableLayer } from "../../ffi/lsmt.ts";
import { AlreadyExistsError } from "../../src/errors.ts";
import { randomBytes, sha256File, vector, withTempDir } from "../_helpers.ts";

const GOLDEN = {
  uuid: "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9",
  parentUuid: "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
  userTag: "golden commit",
};

Deno.test("commitLayer() of the golden writable layer equals layer.lsmt byte for byte", async () => {
  await withTempDir(async (dir) => {
    commitLayer(
      vector("rw_append/writable_data"),
      vector("rw_append/writable_index"),
      `${dir}/out`,
      GOLDEN,
    );
    assert.equal(await sha256File(`${dir}/out`), await sha256File(vector("layer.lsmt")));
  });
});

Deno.test("commitLayer() -z -t writes a blob that reads as view.raw and inspects as a layer", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/overlaybd.commit`;
    commitLayer(vector("rw_append/writable_data"), vector("rw_append/writable_index"), out, {
      ...GOLDEN,
      zfile: { algorithm: "zstd", blockSize: 16384 },
      tar: true,
    });
    const info = inspectFile(out);
    assert.deepEqual(info.chain, ["tar", "zfile", "lsmt committed"]);
    assert.equal(info.zfile?.header.algorithm, "zstd");
    assert.equal(info.zfile?.header.blockSize, 16384);
    assert.equal(info.lsmt?.trailer?.uuid, GOLDEN.uuid);
    assert.equal(info.lsmt?.records, 9);
    const image = openView([out]);
    const chunks: Uint8Array[] = [];
    try {
      await readView(image, 0, 12 << 20, (c) => (chunks.push(c.slice()), Promise.resolve()));
    } finally {
      image.close();
    }
    const raw = await Deno.readFile(vector("view.raw"));
    let at = 0;
    for (const c of chunks) {
      assert.deepEqual(c, raw.subarray(at, at + c.length));
      at += c.length;
    }
    assert.equal(at, raw.length);
  });
});

Deno.test("createLayer() refuses to overwrite an existing layer", async () => {
  await withTempDir((dir) => {
    createLayer(`${dir}/d`, `${dir}/i`, { virtualSize: 1 << 30 });
    assert.throws(
      () => createLayer(`${dir}/d`, `${dir}/i`, { virtualSize: 1 << 30 }),
      AlreadyExistsError,
    );
  });
});

Deno.test("random writes survive create, commit and stacking", async () => {
  await withTempDir(async (dir) => {
    const size = 16 << 20;
    const model = new Uint8Array(size);
    createLayer(`${dir}/d`, `${dir}/i`, { virtualSize: size });
    const layer = openWritableLayer(`${dir}/d`, `${dir}/i`);
    try {
      for (let i = 0; i < 200; i++) {
        const off = ((i * 7919) % (size / 512 - 64)) * 512;
        const len = (1 + (i * 31) % 64) * 512;
        if (i % 5 === 4) {
          layer.discard(off, len);
          model.fill(0, off, off + len);
        } else {
          const data = randomBytes(len, i + 1);
          layer.pwrite(data, off);
          model.set(data, off);
        }
      }
    } finally {
      layer.close();
    }
    commitLayer(`${dir}/d`, `${dir}/i`, `${dir}/c`, { zfile: {}, tar: true });
    const image = openView([`${dir}/c`]);
    const got = new Uint8Array(size);
    try {
      let at = 0;
      await readView(image, 0, size, (c) => {
        got.set(c, at);
        at += c.length;
        return Promise.resolve();
      });
    } finally {
      image.close();
    }
    assert.deepEqual(got, model);
  });
});
