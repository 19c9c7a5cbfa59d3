import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../../src/errors.ts";
import { credentialFileCredentials, credentialKeys } from "../../../src/registry/mod.ts";
import { withTempDir } from "../../_helpers.ts";

Deno.test("credentialKeys() lists host and repository prefixes, shortest first", () => {
  assert.deepEqual(credentialKeys("reg.io:5000", "team/sub/app"), [
    "reg.io:5000",
    "reg.io:5000/team",
    "reg.io:5000/team/sub",
    "reg.io:5000/team/sub/app",
  ]);
});

Deno.test("credentialFileCredentials() takes the first matching entry in file order", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cred.json`;
    // Raw text, so the key order is the file's.
    await Deno.writeTextFile(
      path,
      `{"auths": {
        "other.io": {"username": "no", "password": "no"},
        "reg.io/team/app": {"username": "app", "password": "p1"},
        "reg.io/team": {"auth": "${btoa("team:p:2")}"},
        "reg.io": {"username": "host", "password": "p3"}
      }}`,
    );
    const source = credentialFileCredentials(path);
    assert.deepEqual(await source.get({ host: "reg.io", repository: "team/app" }), {
      username: "app",
      password: "p1",
    });
    assert.deepEqual(await source.get({ host: "reg.io", repository: "team/other" }), {
      username: "team",
      password: "p:2",
    });
    assert.deepEqual(await source.get({ host: "reg.io", repository: "solo" }), {
      username: "host",
      password: "p3",
    });
    assert.equal(await source.get({ host: "reg.io:5000", repository: "team/app" }), undefined);
    assert.equal(
      await credentialFileCredentials(`${dir}/missing.json`).get({ host: "a", repository: "b" }),
      undefined,
    );
    await Deno.writeTextFile(path, "{not json");
    await assert.rejects(source.get({ host: "reg.io", repository: "x" }), InvalidArgumentError);
  });
});
