import assert from "node:assert/strict";
import { CorruptDataError } from "../../../src/errors.ts";
import { basicAuthorization, parseTokenResponse, tokenUrl } from "../../../src/registry/mod.ts";

const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

Deno.test("tokenUrl() puts service, one scope parameter per scope and the account", () => {
  assert.equal(
    tokenUrl(
      "https://auth.io/token?x=1",
      "reg",
      ["repository:a:pull", "repository:b:pull,push"],
      "me",
    ),
    "https://auth.io/token?x=1&service=reg&scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apull%2Cpush&account=me",
  );
});

Deno.test("parseTokenResponse() accepts token or access_token and honours expires_in", () => {
  assert.deepEqual(parseTokenResponse(json({ token: "t", expires_in: 2 }), "r", 1000), {
    value: "t",
    expiresAt: 3000,
  });
  assert.deepEqual(parseTokenResponse(json({ access_token: "a" }), "r", 0), {
    value: "a",
    expiresAt: 60_000,
  });
  assert.throws(() => parseTokenResponse(json({}), "r"), CorruptDataError);
  assert.throws(
    () => parseTokenResponse(new TextEncoder().encode("<html>"), "r"),
    CorruptDataError,
  );
});

Deno.test("basicAuthorization() encodes user:pass as UTF-8 base64", () => {
  assert.equal(basicAuthorization({ username: "a", password: "b" }), "Basic YTpi");
  assert.equal(basicAuthorization({ username: "ü", password: "p" }), `Basic ${btoa("\xc3\xbc:p")}`);
});
