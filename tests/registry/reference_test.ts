import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.ts";
import {
  endpointHost,
  formatReference,
  parseReference,
  parseRepoBlobUrl,
} from "../../src/registry/mod.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

Deno.test("parseReference() applies docker.io defaults", () => {
  assert.deepEqual(parseReference("ubuntu"), {
    registry: "docker.io",
    repository: "library/ubuntu",
    tag: "latest",
  });
  assert.deepEqual(parseReference("team/app:v1"), {
    registry: "docker.io",
    repository: "team/app",
    tag: "v1",
  });
  assert.equal(parseReference("docker.io/ubuntu").repository, "library/ubuntu");
  assert.equal(parseReference("index.docker.io/ubuntu").registry, "docker.io");
  assert.equal(endpointHost("docker.io"), "registry-1.docker.io");
  assert.equal(endpointHost("127.0.0.1:5000"), "127.0.0.1:5000");
});

Deno.test("parseReference() reads hosts, ports, localhost, tags and digests", () => {
  assert.deepEqual(parseReference("127.0.0.1:5000/hello-world:amd64"), {
    registry: "127.0.0.1:5000",
    repository: "hello-world",
    tag: "amd64",
  });
  assert.deepEqual(parseReference(`localhost/a/b/c@${DIGEST}`), {
    registry: "localhost",
    repository: "a/b/c",
    digest: DIGEST,
  });
  assert.deepEqual(parseReference(`localhost:5000/app:v2@${DIGEST}`), {
    registry: "localhost:5000",
    repository: "app",
    tag: "v2",
    digest: DIGEST,
  });
  assert.equal(parseReference("registry.example.com/x").repository, "x", "no library/ prefix");
  assert.equal(parseReference("x/a.b_c__d-e--f").repository, "x/a.b_c__d-e--f");
});

Deno.test("formatReference() gives the normalised string form", () => {
  assert.equal(formatReference(parseReference("ubuntu")), "docker.io/library/ubuntu:latest");
  assert.equal(
    formatReference(parseReference(`localhost:5000/app@${DIGEST}`)),
    `localhost:5000/app@${DIGEST}`,
  );
});

Deno.test("parseReference() says what is wrong with a malformed reference", () => {
  for (
    const [text, why] of [
      ["", /empty/],
      ["Ubuntu", /lower-case/],
      ["host:5000/", /missing/],
      ["app:bad tag", /tag/],
      ["app@sha256", /digest/],
      ["a//b", /component ""/],
      ["bad_host.com:xx:1/app", /registry|tag/],
      [`x/${"a".repeat(260)}`, /longer than 255/],
    ] as const
  ) {
    assert.throws(
      () => parseReference(text),
      (err) => err instanceof InvalidArgumentError && why.test(err.message),
      text,
    );
  }
});

Deno.test("parseRepoBlobUrl() reads a config.v1.json repoBlobUrl", () => {
  assert.deepEqual(parseRepoBlobUrl("http://127.0.0.1:5000/v2/hello-world/blobs"), {
    reference: { registry: "127.0.0.1:5000", repository: "hello-world" },
    plain: true,
  });
  assert.deepEqual(parseRepoBlobUrl("https://registry-1.docker.io/v2/library/redis/blobs/"), {
    reference: { registry: "docker.io", repository: "library/redis" },
    plain: false,
  });
  for (
    const bad of ["ftp://h/v2/a/blobs", "https://h/v1/a/blobs", "not a url", "https://h/v2//blobs"]
  ) {
    assert.throws(() => parseRepoBlobUrl(bad), InvalidArgumentError, bad);
  }
});
