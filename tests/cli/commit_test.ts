import assert from "node:assert/strict";
import { runCli, sha256File, vector, withTempDir } from "../_helpers.ts";

Deno.test("overlaybd commit reproduces layer.lsmt from the golden writable layer", async () => {
  await withTempDir(async (dir) => {
    const r = await runCli([
      "commit",
      "--uuid",
      "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
      "--parent-uuid",
      "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
      "-m",
      "golden commit",
      vector("rw_append/writable_data"),
      vector("rw_append/writable_index"),
      `${dir}/out`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(`${dir}/out`), await sha256File(vector("layer.lsmt")));
  });
});

Deno.test("overlaybd create then commit -z -t gives a blob that inspect recognises", async () => {
  await withTempDir(async (dir) => {
    let r = await runCli(["create", "--sparse", `${dir}/d`, `${dir}/i`, "1"]);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(["commit", "-z", "-t", `${dir}/d`, `${dir}/i`, `${dir}/blob`]);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(["inspect", "--json", `${dir}/blob`]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(new TextDecoder().decode(r.stdout));
    assert.deepEqual(info.chain, ["tar", "zfile", "lsmt committed"]);
    assert.equal(info.lsmt.virtualSize, 1 << 30);
  });
});

Deno.test("overlaybd commit -t without -z is a usage error", async () => {
  const r = await runCli(["commit", "-t", "d", "i", "o"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /add -z/);
});

Deno.test("overlaybd commit of a missing layer names the file and leaves no output", async () => {
  await withTempDir(async (dir) => {
    const r = await runCli(["commit", "-z", `${dir}/nope`, `${dir}/nope.i`, `${dir}/out`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nope/);
    await assert.rejects(() => Deno.stat(`${dir}/out`), Deno.errors.NotFound);
  });
});

Deno.test("overlaybd create refuses existing files", async () => {
  await withTempDir(async (dir) => {
    assert.equal((await runCli(["create", `${dir}/d`, `${dir}/i`, "1"])).code, 0);
    const r = await runCli(["create", `${dir}/d`, `${dir}/i`, "1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exist/);
  });
});

Deno.test("overlaybd commit --seal seals DATA in place; inspect sees a sealed layer", async () => {
  await withTempDir(async (dir) => {
    await Deno.copyFile(vector("rw_append/writable_data"), `${dir}/d`);
    await Deno.copyFile(vector("rw_append/writable_index"), `${dir}/i`);
    let r = await runCli(["commit", "--seal", `${dir}/d`, `${dir}/i`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /sealed .*\/d \(\d+ index records\)/);
    r = await runCli(["inspect", "--json", `${dir}/d`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(r.stdout)).chain, ["lsmt sealed"]);
  });
});

Deno.test("overlaybd commit --seal with OUT, and commit without OUT, are usage errors", async () => {
  let r = await runCli(["commit", "--seal", "d", "i", "o"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--seal takes only DATA and INDEX/);
  r = await runCli(["commit", "d", "i"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /missing OUT/);
});
