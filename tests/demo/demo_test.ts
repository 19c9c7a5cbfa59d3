import assert from "node:assert/strict";
import { runDemo } from "../../src/demo/mod.ts";
import { inspectFile } from "../../src/layer/mod.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("runDemo() builds a layer blob from real ext4 and reads it back", async () => {
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const blob = await runDemo({ workdir: dir, log: (l) => lines.push(l) });
    assert.match(lines.at(-1) ?? "", /demo passed/);
    assert.ok(lines.some((l) => l.includes("/hello.txt")));
    assert.deepEqual(inspectFile(blob).chain, ["tar", "zfile", "lsmt committed"]);
  });
});
