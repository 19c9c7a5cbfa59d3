import assert from "node:assert/strict";
import { parsePrefetchList, PREFETCH_LIST_MAX_BYTES } from "../../src/trace/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("parsePrefetchList() keeps absolute paths, trimmed, and turns dir/* into dir/", () => {
  const text = [
    "  /usr/bin/python3  ",
    "/usr/lib/python3.11/*",
    "/etc/",
    "",
    "relative/path",
    "/a/../b",
    "/a/./b",
    "/x*y",
    "/tab\there",
    "/.bashrc",
    "\t/opt/app/main.js\r",
  ].join("\n");
  assert.deepEqual(parsePrefetchList(bytes(text)), [
    "/usr/bin/python3",
    "/usr/lib/python3.11/",
    "/etc/",
    "/.bashrc",
    "/opt/app/main.js",
  ]);
});

Deno.test("parsePrefetchList() rejects a list over 64 KiB", () => {
  const big = bytes("/a\n".repeat(PREFETCH_LIST_MAX_BYTES / 3 + 1));
  assert.throws(() => parsePrefetchList(big), InvalidArgumentError);
  assert.equal(parsePrefetchList(big.subarray(0, 21845 * 3)).length, 21845);
});
