import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../../src/errors.ts";
import {
  chainCredentials,
  dockerConfigCredentials,
  staticCredentials,
} from "../../../src/registry/mod.ts";
import { withTempDir } from "../../_helpers.ts";

Deno.test("dockerConfigCredentials() matches auths by registry host", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: btoa("hubuser:hubpass") },
          "127.0.0.1:5000": { username: "local", password: "pw" },
          "http://reg.example.com/v2/": { auth: btoa("ex:pw:x") },
          "tokenonly.io": { identitytoken: "abc" },
        },
      }),
    );
    const source = dockerConfigCredentials(path);
    const get = (host: string) => source.get({ host, repository: "any/thing" });
    assert.deepEqual(await get("registry-1.docker.io"), {
      username: "hubuser",
      password: "hubpass",
    });
    assert.deepEqual(await get("127.0.0.1:5000"), { username: "local", password: "pw" });
    assert.deepEqual(await get("REG.example.com"), { username: "ex", password: "pw:x" });
    assert.equal(await get("127.0.0.1:5001"), undefined);
    assert.equal(await get("tokenonly.io"), undefined);

    const chained = chainCredentials(source, staticCredentials("fallback:pw"));
    assert.equal((await chained.get({ host: "x.io", repository: "a" }))?.username, "fallback");
    assert.equal(
      (await chained.get({ host: "127.0.0.1:5000", repository: "a" }))?.username,
      "local",
    );

    await Deno.writeTextFile(path, JSON.stringify({ auths: { "bad.io": { auth: "%%%" } } }));
    await assert.rejects(get("bad.io"), InvalidArgumentError);
  });
});

Deno.test("staticCredentials() splits at the first colon", async () => {
  assert.deepEqual(await staticCredentials("u:p:q").get({ host: "h", repository: "r" }), {
    username: "u",
    password: "p:q",
  });
  assert.throws(() => staticCredentials("nopass"), InvalidArgumentError);
  assert.throws(() => staticCredentials(":p"), InvalidArgumentError);
});
