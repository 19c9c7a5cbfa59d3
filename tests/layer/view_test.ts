import assert from "node:assert/strict";
import { openView, readView } from "../../src/layer/mod.ts";
import { CorruptDataError, InvalidArgumentError } from "../../src/errors.ts";
import { sha256, vector, withTempDir } from "../_helpers.ts";

const VIEW_SHA = "bebb55afa6202cd73e8f454c04e9f7148632f7b58235f26a002df4a6ae5c26b3";
const STACKED_SHA = "d6ad70c810be4ad53212655f07e4d3f29affd972555e1695e83efcdbe271cb47";
const TWELVE_MIB = 12 << 20;

async function collect(layers: string[], offset: number, length: number, upper?: string) {
  const image = openView(layers, {
    upper: upper ? { data: `${upper}/writable_data`, index: `${upper}/writable_index` } : undefined,
  });
  const parts: Uint8Array[] = [];
  try {
    await readView(image, offset, length, (c) => {
      parts.push(c.slice());
      return Promise.resolve();
    });
  } finally {
    image.close();
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

for (const file of ["layer.lsmt", "layer.zfile", "overlaybd.commit"]) {
  Deno.test(`openView() of ${file} reads view.raw`, async () => {
    assert.equal(await sha256(await collect([vector(file)], 0, TWELVE_MIB)), VIEW_SHA);
  });
}

Deno.test("openView() with the upper/ writable layer reads stacked_view.raw", async () => {
  const got = await collect([vector("overlaybd.commit")], 0, TWELVE_MIB, vector("upper"));
  assert.equal(await sha256(got), STACKED_SHA);
});

Deno.test("readView() serves unaligned ranges", async () => {
  const raw = await Deno.readFile(vector("view.raw"));
  for (const [off, len] of [[1, 1], [511, 2], [1000, 70000], [(1 << 20) - 3, (2 << 20) + 9]]) {
    const got = await collect([vector("layer.zfile")], off, len);
    assert.deepEqual(got, raw.subarray(off, off + len), `range ${off}+${len}`);
  }
});

Deno.test("readView() rejects an offset past the end", async () => {
  const image = openView([vector("layer.lsmt")]);
  try {
    await assert.rejects(
      () => readView(image, image.size + 1, 1, () => Promise.resolve()),
      InvalidArgumentError,
    );
  } finally {
    image.close();
  }
});

Deno.test("a damaged ZFile block fails its range and leaves the others readable", async () => {
  await withTempDir(async (dir) => {
    const bytes = await Deno.readFile(vector("layer.zfile"));
    // Block 300 of 1299 lies well inside the data area; flip a byte in its middle.
    const v = new DataView(bytes.buffer);
    const indexOffset = Number(v.getBigUint64(40, true));
    let start = 512;
    for (let i = 0; i < 300; i++) start += v.getUint32(indexOffset + 4 * i, true);
    bytes[start + 10] ^= 0xff;
    await Deno.writeFile(`${dir}/bad.zfile`, bytes);
    const raw = await Deno.readFile(vector("view.raw"));
    await assert.rejects(
      () => collect([`${dir}/bad.zfile`], 0, TWELVE_MIB),
      (e: Error) =>
        e instanceof CorruptDataError && /bad\.zfile/.test(e.message) && /300/.test(e.message),
    );
    // Block 300 holds LSMT bytes [300*4096, 301*4096); virtual bytes elsewhere still read.
    const first = await collect([`${dir}/bad.zfile`], 0, 64 << 10);
    assert.deepEqual(first, raw.subarray(0, 64 << 10));
  });
});
