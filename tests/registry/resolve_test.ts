import assert from "node:assert/strict";
import { CorruptDataError, InvalidArgumentError, NotFoundError } from "../../src/errors.ts";
import {
  DOCKER_MANIFEST,
  OCI_MANIFEST,
  openRepository,
  parsePlatform,
  resolveImage,
} from "../../src/registry/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { HELLO_LAYOUT, OBD_LAYER, pushLayout } from "./_layout.ts";
import { startRegistry } from "./_registry.ts";
import { startFaultProxy } from "./_fault_proxy.ts";

const AMD64 = "sha256:7e9b6e7ba2842c91cf49f3e214d04a7a496f8214356f41d81a6e6dcad11f11e3";
const ARM64 = "sha256:efebf0f7aee69450f99deafe11121afa720abed733943e50581a9dc7540689c8";
const ARMV5 = "sha256:084c3bdd1271adc754e2c5f6ba7046f1a2c099597dbd9643592fa8eb99981402";

Deno.test("resolveImage() follows tags, manifest lists and platforms on a real registry", async () => {
  await withTempDir(async (dir) => {
    const reg = await startRegistry(dir);
    const repo = openRepository(`${reg.host}/hello-world`, { plain: true });
    try {
      await pushLayout(repo, HELLO_LAYOUT);

      const amd64 = await resolveImage(repo, "amd64");
      assert.equal(amd64.descriptor.digest, AMD64);
      assert.equal(amd64.descriptor.mediaType, DOCKER_MANIFEST);
      assert.equal(amd64.index, undefined);

      const converted = await resolveImage(repo, "amd64-converted");
      assert.equal(converted.descriptor.mediaType, OCI_MANIFEST);
      assert.equal(converted.manifest.layers[0].digest, OBD_LAYER);
      assert.equal(
        converted.manifest.layers[0].annotations?.["containerd.io/snapshot/overlaybd/version"],
        "0.1.0",
      );

      const list = await resolveImage(repo, "docker-list");
      assert.equal(list.descriptor.digest, AMD64, "default platform is linux/amd64");
      assert.ok(list.index);
      const arm64 = await resolveImage(repo, "docker-list", {
        platform: parsePlatform("linux/arm64"),
      });
      assert.equal(arm64.descriptor.digest, ARM64);
      const armv5 = await resolveImage(repo, "docker-list", {
        platform: parsePlatform("linux/arm/v5"),
      });
      assert.equal(armv5.descriptor.digest, ARMV5);
      await assert.rejects(
        resolveImage(repo, "docker-list", { platform: parsePlatform("windows/amd64") }),
        (err) => err instanceof NotFoundError && /windows\/amd64/.test(err.message),
      );

      const byDigest = await resolveImage(repo, AMD64);
      assert.equal(new TextDecoder().decode(byDigest.bytes), new TextDecoder().decode(amd64.bytes));
      await assert.rejects(resolveImage(repo, "no-such-tag"), NotFoundError);
    } finally {
      repo.close();
      await reg.stop();
    }
  });
});

Deno.test("resolveImage() rejects a manifest whose bytes do not match its digest", async () => {
  await withTempDir(async (dir) => {
    const reg = await startRegistry(dir);
    const proxy = startFaultProxy(reg.port);
    const seed = openRepository(`${reg.host}/hello-world`, { plain: true });
    const repo = openRepository(`${proxy.host}/hello-world`, { plain: true });
    try {
      await pushLayout(seed, HELLO_LAYOUT);
      // The registry checks what it stores; damage it on the wire instead.
      const flip = { kind: "flip" as const, afterBytes: 700 };
      proxy.arm({ ...flip, match: `manifests/${AMD64}` });
      await assert.rejects(resolveImage(repo, AMD64), CorruptDataError);
      proxy.arm({ ...flip, match: "manifests/amd64 " });
      await assert.rejects(
        resolveImage(repo, "amd64"),
        (err) => err instanceof CorruptDataError && /registry says/.test(err.message),
      );
      assert.equal(proxy.fired, 2);
      assert.equal((await resolveImage(repo, "amd64")).descriptor.digest, AMD64);
    } finally {
      seed.close();
      repo.close();
      await proxy.close();
      await reg.stop();
    }
  });
});

Deno.test("openRepository() rejects a malformed reference", () => {
  assert.throws(() => openRepository("127.0.0.1:5000/Upper"), InvalidArgumentError);
});
