import assert from "node:assert/strict";
import { detectCompression, openLayerTar } from "../../src/convert/mod.ts";
import { CorruptDataError, NotFoundError } from "../../src/errors.ts";
import { runTool } from "../../src/demo/run_tool.ts";
import { randomBytes, withTempDir } from "../_helpers.ts";

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function hasZstd(): Promise<boolean> {
  try {
    return (await new Deno.Command("zstd", { args: ["--version"] }).output()).success;
  } catch {
    return false;
  }
}

Deno.test("detectCompression() tells gzip, zstd and plain apart by magic", () => {
  assert.equal(detectCompression(new Uint8Array([0x1f, 0x8b])), "gzip");
  assert.equal(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd])), "zstd");
  assert.equal(detectCompression(new Uint8Array([0x28, 0xb5])), "none");
  assert.equal(detectCompression(new Uint8Array()), "none");
});

Deno.test("openLayerTar() streams plain, gzip and zstd files as the same bytes", async () => {
  await withTempDir(async (dir) => {
    const data = randomBytes(3 << 20, 5);
    await Deno.writeFile(`${dir}/x`, data);
    await runTool("gzip", ["-k", `${dir}/x`]);
    const kinds: [string, string][] = [["x", "none"], ["x.gz", "gzip"]];
    if (await hasZstd()) {
      await runTool("zstd", ["-q", "-k", `${dir}/x`]);
      kinds.push(["x.zst", "zstd"]);
    }
    for (const [name, kind] of kinds) {
      const { compression, stream } = await openLayerTar(`${dir}/${name}`);
      assert.equal(compression, kind);
      assert.deepEqual(await drain(stream), data, name);
    }
  });
});

Deno.test("openLayerTar() fails with CorruptDataError on damaged or cut gzip and zstd", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/x`, randomBytes(1 << 20, 6));
    await runTool("gzip", ["-k", `${dir}/x`]);
    const gz = await Deno.readFile(`${dir}/x.gz`);
    const damaged = gz.slice();
    damaged[gz.length >> 1] ^= 0xff;
    await Deno.writeFile(`${dir}/bad.gz`, damaged);
    await Deno.writeFile(`${dir}/cut.gz`, gz.slice(0, gz.length >> 1));
    const bad = ["bad.gz", "cut.gz"];
    if (await hasZstd()) {
      await runTool("zstd", ["-q", "-k", `${dir}/x`]);
      const zst = await Deno.readFile(`${dir}/x.zst`);
      await Deno.writeFile(`${dir}/cut.zst`, zst.slice(0, zst.length >> 1));
      bad.push("cut.zst");
    }
    for (const name of bad) {
      const { stream } = await openLayerTar(`${dir}/${name}`);
      await assert.rejects(drain(stream), (err: Error) => {
        assert.ok(err instanceof CorruptDataError, `${name}: ${err}`);
        assert.match(err.message, new RegExp(name.replace(".", "\\.")));
        return true;
      });
    }
  });
});

Deno.test("openLayerTar() of a missing file fails with NotFoundError", async () => {
  await assert.rejects(openLayerTar("/nonexistent/layer.tar"), NotFoundError);
});
