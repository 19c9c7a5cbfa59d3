import assert from "node:assert/strict";
import { CorruptDataError, NotFoundError } from "../../src/errors.ts";
import { inspectFile, openView, readView, sealLayer } from "../../src/layer/mod.ts";
import { sha256, vector, withTempDir } from "../_helpers.ts";

const VIEW_SIZE = 12 << 20;
const STACKED_VIEW_SHA = "d6ad70c810be4ad53212655f07e4d3f29affd972555e1695e83efcdbe271cb47";
const VIEW_SHA = "bebb55afa6202cd73e8f454c04e9f7148632f7b58235f26a002df4a6ae5c26b3";

async function viewSha(layers: string[]): Promise<string> {
  const image = openView(layers);
  try {
    const out = new Uint8Array(VIEW_SIZE);
    let at = 0;
    await readView(image, 0, VIEW_SIZE, (chunk) => {
      out.set(chunk, at);
      at += chunk.length;
      return Promise.resolve();
    });
    return await sha256(out);
  } finally {
    image.close();
  }
}

async function copyLayer(dir: string, name: string): Promise<[string, string]> {
  await Deno.copyFile(vector(`${name}/writable_data`), `${dir}/data`);
  await Deno.copyFile(vector(`${name}/writable_index`), `${dir}/index`);
  return [`${dir}/data`, `${dir}/index`];
}

Deno.test("sealLayer() turns a writable layer into a sealed layer with the same content", async () => {
  await withTempDir(async (dir) => {
    const [data, index] = await copyLayer(dir, "rw_append");
    const before = (await Deno.stat(data)).size;
    const records = sealLayer(data, index);
    const info = await inspectFile(data);
    assert.deepEqual(info.chain, ["lsmt sealed"]);
    assert.equal(info.lsmt?.header.flags, 0x03, "the writable header stays");
    assert.equal(info.lsmt?.trailer?.flags, 0x06);
    assert.equal(info.lsmt?.trailer?.indexOffset, before);
    assert.equal(info.lsmt?.trailer?.indexSize, records);
    assert.equal(info.lsmt?.trailer?.uuid, info.lsmt?.header.uuid);
    assert.equal(await viewSha([data]), VIEW_SHA);
  });
});

Deno.test("sealLayer() of an upper stacked on a lower gives the same stacked view", async () => {
  await withTempDir(async (dir) => {
    const [data, index] = await copyLayer(dir, "upper");
    sealLayer(data, index);
    assert.equal(await viewSha([vector("layer.lsmt"), data]), STACKED_VIEW_SHA);
  });
});

Deno.test("sealLayer() again changes nothing", async () => {
  await withTempDir(async (dir) => {
    const [data, index] = await copyLayer(dir, "rw_append");
    const n = sealLayer(data, index);
    const once = await Deno.readFile(data);
    assert.equal(sealLayer(data, index), n);
    assert.deepEqual(await Deno.readFile(data), once);
  });
});

Deno.test("sealLayer() refuses a committed layer and a missing file", async () => {
  await withTempDir(async (dir) => {
    await Deno.copyFile(vector("layer.lsmt"), `${dir}/layer.lsmt`);
    assert.throws(() => sealLayer(`${dir}/layer.lsmt`, `${dir}/none`), CorruptDataError);
    assert.throws(() => sealLayer(`${dir}/missing`, `${dir}/none`), NotFoundError);
  });
});
