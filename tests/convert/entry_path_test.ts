import assert from "node:assert/strict";
import { baseName, cleanEntryPath, joinPath, parentOf } from "../../src/convert/mod.ts";
import { InvalidArgumentError } from "../../src/errors.ts";

Deno.test("cleanEntryPath() makes tar names absolute and drops . and empty parts", () => {
  assert.equal(cleanEntryPath("./"), "/");
  assert.equal(cleanEntryPath("."), "/");
  assert.equal(cleanEntryPath("/"), "/");
  assert.equal(cleanEntryPath("usr/bin/"), "/usr/bin");
  assert.equal(cleanEntryPath("./usr//./lib/x"), "/usr/lib/x");
  assert.equal(cleanEntryPath("/etc/passwd"), "/etc/passwd");
  assert.equal(cleanEntryPath("a/b/../c"), "/a/c");
});

Deno.test("cleanEntryPath() refuses a name that climbs out of the root", () => {
  for (const bad of ["../etc/passwd", "a/../../b", "/..", "./../x", "a\0b"]) {
    assert.throws(() => cleanEntryPath(bad), InvalidArgumentError, bad);
  }
});

Deno.test("parentOf(), baseName() and joinPath() split and join cleaned paths", () => {
  assert.equal(parentOf("/a/b"), "/a");
  assert.equal(parentOf("/a"), "/");
  assert.equal(parentOf("/"), "/");
  assert.equal(baseName("/a/b"), "b");
  assert.equal(joinPath("/", "x"), "/x");
  assert.equal(joinPath("/a", "x"), "/a/x");
});
