import assert from "node:assert/strict";
import { runCli, sha256File, vector, withTempDir } from "../_helpers.ts";

Deno.test("overlaybd zfile --algorithm zstd reproduces the upstream ZFile byte for byte", async () => {
  await withTempDir(async (dir) => {
    const r = await runCli(["zfile", "--algorithm", "zstd", vector("view.raw"), `${dir}/out`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(`${dir}/out`), await sha256File(vector("z_zstd_4k_crc.zfile")));
  });
});

Deno.test("overlaybd zfile -d restores the original bytes of every golden ZFile", async () => {
  await withTempDir(async (dir) => {
    const want = await sha256File(vector("view.raw"));
    for (const f of ["z_lz4_4k_crc.zfile", "z_zstd_4k_crc.zfile", "z_lz4_64k_nocrc.zfile"]) {
      const r = await runCli(["zfile", "-d", vector(f), `${dir}/${f}.raw`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sha256File(`${dir}/${f}.raw`), want, f);
    }
  });
});

Deno.test("overlaybd zfile -t -d round-trips through the tar wrapper", async () => {
  await withTempDir(async (dir) => {
    let r = await runCli(["zfile", "-t", "--bs", "64", vector("layer.lsmt"), `${dir}/blob`]);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(["zfile", "-d", `${dir}/blob`, `${dir}/back`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(`${dir}/back`), await sha256File(vector("layer.lsmt")));
  });
});

Deno.test("overlaybd zfile --verify names the damaged block", async () => {
  await withTempDir(async (dir) => {
    let r = await runCli(["zfile", "--verify", vector("overlaybd.commit")]);
    assert.equal(r.code, 0, r.stderr);
    const bytes = await Deno.readFile(vector("layer.zfile"));
    bytes[512 + 100] ^= 0x55; // inside block 0
    await Deno.writeFile(`${dir}/bad`, bytes);
    r = await runCli(["zfile", "--verify", `${dir}/bad`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /block 0\b/);
  });
});

Deno.test("overlaybd zfile rejects a bad block size with a one-line message", async () => {
  const r = await runCli(["zfile", "--bs", "5", "a", "b"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /block size must be 4, 8, 16, 32 or 64/);
});

Deno.test("overlaybd zfile without files says what it needs", async () => {
  const r = await runCli(["zfile"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs IN and OUT/);
});
