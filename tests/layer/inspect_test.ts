import assert from "node:assert/strict";
import { inspectFile } from "../../src/layer/mod.ts";
import { CorruptDataError, NotFoundError } from "../../src/errors.ts";
import { vector, withTempDir } from "../_helpers.ts";

const HELLO_BLOB =
  "upstream/hello-world-registry/blobs/sha256/022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d";

Deno.test("inspectFile() decodes every level of overlaybd.commit", () => {
  const info = inspectFile(vector("overlaybd.commit"));
  assert.deepEqual(info.chain, ["tar", "zfile", "lsmt committed"]);
  assert.equal(info.size, 2982912);
  assert.deepEqual(info.tar, { offset: 1536, size: 2980020, pax: true, name: "overlaybd.commit" });
  assert.equal(info.zfile?.header.flags, 0x1b);
  assert.equal(info.zfile?.blocks, 1299);
  assert.equal(info.zfile?.header.indexOffset, 2974312);
  assert.equal(info.zfile?.trailer, null);
  assert.equal(info.lsmt?.records, 9);
  assert.equal(info.lsmt?.virtualSize, 64 << 20);
  assert.equal(info.lsmt?.trailer?.userTag, "golden commit");
});

Deno.test("inspectFile() reads a ZFile whose header was not rewritten from its trailer", () => {
  const info = inspectFile(vector("z_zstd_4k_crc.zfile"));
  assert.deepEqual(info.chain, ["zfile", "data"]);
  assert.equal(info.zfile?.header.flags, 0x13);
  assert.equal(info.zfile?.trailer?.flags, 0x16);
  assert.equal(info.zfile?.trailer?.algorithm, "zstd");
  assert.equal(info.zfile?.trailer?.originalFileSize, 12 << 20);
});

Deno.test("inspectFile() tells the roles of writable layer files apart", () => {
  const data = inspectFile(vector("rw_append/writable_data"));
  assert.equal(data.lsmt?.role, "writable data");
  const index = inspectFile(vector("rw_append/writable_index"));
  assert.equal(index.lsmt?.role, "writable index");
  assert.equal(index.lsmt?.records, 10);
  assert.equal(inspectFile(vector("rw_sparse/writable_data")).lsmt?.role, "writable sparse data");
});

Deno.test("inspectFile() opens the upstream hello-world layer blob", () => {
  const info = inspectFile(vector(HELLO_BLOB));
  assert.deepEqual(info.chain, ["tar", "zfile", "lsmt committed"]);
  assert.equal(info.size, 642560);
  assert.equal(info.tar?.size, 639491);
  assert.equal(info.lsmt?.virtualSize, 68719476736);
  assert.equal(info.lsmt?.trailer?.uuid, "01BB4FCE-3EB1-B56B-05AD-F99504DAFD31");
  assert.equal(info.lsmt?.records, 515);
});

Deno.test("inspectFile() says 'data' for a file of no known format", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/x`, "hello");
    assert.deepEqual(inspectFile(`${dir}/x`).chain, ["data"]);
  });
});

Deno.test("inspectFile() rejects a ZFile whose header digest is wrong", async () => {
  await withTempDir(async (dir) => {
    const bytes = await Deno.readFile(vector("layer.zfile"));
    bytes[60] ^= 1; // original_file_size, covered by the header digest
    await Deno.writeFile(`${dir}/bad`, bytes);
    assert.throws(() => inspectFile(`${dir}/bad`), CorruptDataError);
  });
});

Deno.test("inspectFile() throws NotFoundError for a missing file", () => {
  assert.throws(() => inspectFile("/nonexistent"), NotFoundError);
});
