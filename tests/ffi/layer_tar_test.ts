import assert from "node:assert/strict";
import { LayerTar, sha256File } from "../../ffi/layer_tar.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { CorruptDataError, NotFoundError } from "../../src/errors.ts";
import { randomBytes, sha256, withTempDir } from "../_helpers.ts";

async function readAll(t: LayerTar): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(300_000);
    const n = await t.read(buf);
    if (n === 0) break;
    parts.push(buf.subarray(0, n));
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

Deno.test("LayerTar decodes a gzip blob and reports the sha256 of the blob and of the tar", async () => {
  await withTempDir(async (dir) => {
    const data = randomBytes(2_500_000, 3);
    await Deno.writeFile(`${dir}/x`, data);
    await runTool("gzip", ["-k", `${dir}/x`]);
    const t = LayerTar.open(`${dir}/x.gz`, 1 << 20);
    try {
      assert.equal(t.info().compression, "gzip");
      assert.deepEqual(await readAll(t), data);
      const info = t.info();
      assert.equal(info.tarBytes, data.length);
      assert.equal(info.blobBytes, info.blobSize);
      assert.equal(info.tarDigest, `sha256:${await sha256(data)}`);
      assert.equal(info.blobDigest, `sha256:${await sha256(await Deno.readFile(`${dir}/x.gz`))}`);
      assert.deepEqual(await sha256File(`${dir}/x.gz`), {
        digest: info.blobDigest,
        size: info.blobSize,
      });
    } finally {
      t.close();
      t.close();
    }
  });
});

Deno.test("LayerTar fails with CorruptDataError naming the blob, and NotFoundError for none", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/x`, randomBytes(500_000, 4));
    await runTool("gzip", [`${dir}/x`]);
    const gz = await Deno.readFile(`${dir}/x.gz`);
    await Deno.writeFile(`${dir}/cut.gz`, gz.subarray(0, gz.length - 100));
    const t = LayerTar.open(`${dir}/cut.gz`);
    try {
      await assert.rejects(readAll(t), (err: Error) => {
        assert.ok(err instanceof CorruptDataError, String(err));
        assert.match(err.message, /cut\.gz/);
        return true;
      });
      assert.equal(t.info().tarDigest, undefined);
    } finally {
      t.close();
    }
    assert.throws(() => LayerTar.open(`${dir}/none`), NotFoundError);
    await assert.rejects(sha256File(`${dir}/none`), NotFoundError);
  });
});
