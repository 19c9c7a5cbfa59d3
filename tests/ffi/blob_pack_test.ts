import assert from "node:assert/strict";
import { commitScratch, packBlob } from "../../ffi/blob_pack.ts";
import { createWritableLayer } from "../../ffi/lsmt.ts";
import { commitLayer, compressFile } from "../../src/layer/mod.ts";
import { InvalidArgumentError, NotFoundError } from "../../src/errors.ts";
import { randomBytes, sha256, withTempDir } from "../_helpers.ts";

Deno.test("commitScratch() then packBlob() give the bytes of commit -z -t, and their digest", async () => {
  await withTempDir(async (dir) => {
    const layer = createWritableLayer(`${dir}/data`, `${dir}/index`, {
      virtualSize: 64 << 20,
      sparse: true,
    });
    try {
      layer.pwrite(randomBytes(1 << 20, 9), 0);
      layer.pwrite(randomBytes(8192, 10), 32 << 20);
      await commitScratch(layer.ptr, `${dir}/plain`, {
        uuid: "12345678-1234-1234-1234-123456789abc",
      });
    } finally {
      layer.close();
    }
    commitLayer(`${dir}/data`, `${dir}/index`, `${dir}/ref.plain`, {
      uuid: "12345678-1234-1234-1234-123456789abc",
    });
    assert.deepEqual(await Deno.readFile(`${dir}/plain`), await Deno.readFile(`${dir}/ref.plain`));
    for (const algorithm of ["lz4", "zstd"] as const) {
      const blob = await packBlob(`${dir}/plain`, `${dir}/blob`, algorithm, 4096);
      compressFile(`${dir}/plain`, `${dir}/ref`, { zfile: { algorithm }, tar: true });
      const bytes = await Deno.readFile(`${dir}/blob`);
      assert.deepEqual(bytes, await Deno.readFile(`${dir}/ref`), algorithm);
      assert.deepEqual(blob, { digest: `sha256:${await sha256(bytes)}`, size: bytes.length });
    }
  });
});

Deno.test("packBlob() fails with NotFoundError or InvalidArgumentError and leaves no output", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(packBlob(`${dir}/none`, `${dir}/out`, "lz4", 4096), NotFoundError);
    assert.equal(await Deno.stat(`${dir}/out`).catch(() => undefined), undefined);
    await Deno.writeFile(`${dir}/in`, randomBytes(10_000));
    await assert.rejects(packBlob(`${dir}/in`, `${dir}/out`, "lz4", 1000), InvalidArgumentError);
    assert.equal(await Deno.stat(`${dir}/out`).catch(() => undefined), undefined);
  });
});
