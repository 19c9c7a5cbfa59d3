import assert from "node:assert/strict";
import { runCli, vector } from "../_helpers.ts";

Deno.test("overlaybd inspect prints each level of a layer blob", async () => {
  const r = await runCli(["inspect", vector("overlaybd.commit")]);
  assert.equal(r.code, 0, r.stderr);
  const text = new TextDecoder().decode(r.stdout);
  assert.match(text, /tar → zfile → lsmt committed/);
  assert.match(text, /1299 blocks/);
  assert.match(text, /9 records/);
  assert.match(text, /golden commit/);
});

Deno.test("overlaybd inspect of a missing file exits 1 with one line", async () => {
  const r = await runCli(["inspect", "/nonexistent/blob"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.match(r.stderr, /\/nonexistent\/blob/);
});

Deno.test("overlaybd --help lists every tool", async () => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0);
  const text = new TextDecoder().decode(r.stdout);
  for (const cmd of ["create", "commit", "zfile", "inspect", "cat"]) {
    assert.match(text, new RegExp(cmd));
  }
});
