import assert from "node:assert/strict";
import { findProgram } from "../../src/process/mod.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("findProgram() finds what is on PATH and nothing else", () => {
  assert.match(findProgram("sh") ?? "", /^\/.*\/sh$/);
  assert.equal(findProgram("overlaybd-no-such-program"), undefined);
});

Deno.test("findProgram() skips files that are not executable", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/obd-plain`, "");
    await Deno.writeTextFile(`${dir}/obd-exec`, "#!/bin/sh\n", { mode: 0o755 });
    const path = Deno.env.get("PATH") ?? "";
    Deno.env.set("PATH", `${dir}:${path}`);
    try {
      assert.equal(findProgram("obd-plain"), undefined);
      assert.equal(findProgram("obd-exec"), `${dir}/obd-exec`);
    } finally {
      Deno.env.set("PATH", path);
    }
  });
});
