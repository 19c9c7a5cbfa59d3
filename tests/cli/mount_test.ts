import assert from "node:assert/strict";
import { runCli, withTempDir } from "../_helpers.ts";

Deno.test("overlaybd mount of a malformed reference is a usage error and starts no daemon", async () => {
  await withTempDir(async (dir) => {
    const r = await runCli(["mount", "--run-dir", `${dir}/run`, "Bad Ref", dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid image reference "Bad Ref"/);
    await assert.rejects(() => Deno.stat(`${dir}/run`), Deno.errors.NotFound);
  });
});

Deno.test("overlaybd mount onto a missing directory says to create it", async () => {
  await withTempDir(async (dir) => {
    const r = await runCli([
      "mount",
      "--run-dir",
      `${dir}/run`,
      "example.com/app:1",
      `${dir}/nope`,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /create it first/);
  });
});

Deno.test("overlaybd umount of a directory nobody mounted names it", async () => {
  await withTempDir(async (dir) => {
    const r = await runCli(["umount", "--run-dir", `${dir}/run`, dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no overlaybd mount is recorded at/);
  });
});
