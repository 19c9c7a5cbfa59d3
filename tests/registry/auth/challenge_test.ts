import assert from "node:assert/strict";
import { parseChallenges } from "../../../src/registry/mod.ts";

Deno.test("parseChallenges() reads a Bearer challenge with quoted parameters", () => {
  assert.deepEqual(
    parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
    ),
    [{
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/ubuntu:pull",
      },
    }],
  );
});

Deno.test("parseChallenges() reads Basic, several challenges and escapes", () => {
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [
    { scheme: "basic", params: { realm: "Registry Realm" } },
  ]);
  assert.deepEqual(
    parseChallenges('Basic realm="a", Bearer realm="b\\"c", service=svc,  error="invalid_token"'),
    [
      { scheme: "basic", params: { realm: "a" } },
      { scheme: "bearer", params: { realm: 'b"c', service: "svc", error: "invalid_token" } },
    ],
  );
  assert.deepEqual(parseChallenges("Negotiate abc123==, Basic realm=x"), [
    { scheme: "negotiate", params: {} },
    { scheme: "basic", params: { realm: "x" } },
  ]);
  assert.deepEqual(
    parseChallenges('Bearer realm="r",scope="repository:a:pull repository:b:pull"')[0].params
      .scope,
    "repository:a:pull repository:b:pull",
  );
});

Deno.test("parseChallenges() ignores what it cannot read", () => {
  assert.deepEqual(parseChallenges(""), []);
  assert.deepEqual(parseChallenges('Bearer realm="unterminated'), [
    { scheme: "bearer", params: {} },
  ]);
});
