import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.ts";
import {
  blobExists,
  digestOf,
  fetchManifest,
  OCI_MANIFEST,
  openRepository,
  pushBlob,
  pushManifest,
  readBlob,
  type RepositoryOptions,
} from "../../src/registry/mod.ts";
import { randomBytes, withTempDir } from "../_helpers.ts";
import { blobPath, HELLO_LAYOUT, OBD_LAYER } from "./_layout.ts";
import { startRegistry, type StartRegistryOptions } from "./_registry.ts";
import { startTokenServer } from "./_token_server.ts";

const LAYER = await Deno.readFile(blobPath(HELLO_LAYOUT, OBD_LAYER));
const CONVERTED = "sha256:42caa56a19e082b872d43f645bb392e25c9e78bce429755bd709fac598265f88";
const CONFIG = "sha256:b67b1f1224de620e9a932ab7ff0e819d7dd9d236605dd8027e5ecf2df650e65e";

async function withRegistry(
  options: StartRegistryOptions,
  fn: (host: string, client: RepositoryOptions) => Promise<void>,
) {
  await withTempDir(async (dir) => {
    const reg = await startRegistry(dir, options);
    try {
      await fn(reg.host, { plain: true, retry: { attempts: 2, baseDelayMs: 10 } });
    } finally {
      await reg.stop();
    }
  });
}

Deno.test("pushBlob() uploads in one PUT, then skips the blob that exists", async () => {
  await withRegistry({}, async (host, client) => {
    const repo = openRepository(`${host}/app`, client);
    try {
      assert.equal(await blobExists(repo, OBD_LAYER), false);
      const first = await pushBlob(repo, LAYER);
      assert.deepEqual(first, { digest: OBD_LAYER, size: LAYER.length, how: "uploaded" });
      assert.equal((await pushBlob(repo, LAYER)).how, "exists");
      assert.deepEqual(await readBlob(repo, OBD_LAYER), LAYER);
    } finally {
      repo.close();
    }
  });
});

Deno.test("pushBlob() uploads in PATCH chunks with Content-Range", async () => {
  await withRegistry({}, async (host, client) => {
    const repo = openRepository(`${host}/app`, client);
    try {
      const data = randomBytes(300_001, 7);
      const pushed = await pushBlob(repo, data, { chunkSize: 65_536 });
      assert.equal(pushed.how, "uploaded");
      assert.equal(pushed.digest, await digestOf(data));
      assert.deepEqual(await readBlob(repo, pushed.digest), data);
      const empty = await pushBlob(repo, new Uint8Array(0), { chunkSize: 1024 });
      assert.equal(empty.size, 0);
      await assert.rejects(pushBlob(repo, data, { chunkSize: 0 }), InvalidArgumentError);
    } finally {
      repo.close();
    }
  });
});

Deno.test("pushBlob() mounts a blob from another repository, also with token auth", async () => {
  await withTempDir(async (dir) => {
    const tokens = await startTokenServer(dir);
    const reg = await startRegistry(dir, { token: tokens });
    const client = { plain: true };
    const src = openRepository(`${reg.host}/source/app`, client);
    const dst = openRepository(`${reg.host}/target`, client);
    try {
      await pushBlob(src, LAYER);
      const sent = dst.bytesFetched;
      const mounted = await pushBlob(dst, LAYER, { mountFrom: "source/app" });
      assert.equal(mounted.how, "mounted");
      assert.ok(await blobExists(dst, OBD_LAYER));
      assert.equal(dst.bytesFetched, sent);
      assert.ok(
        tokens.scopes.some((s) => s.includes("repository:source/app:pull")),
        JSON.stringify(tokens.scopes),
      );
      // A source that lacks the blob: the registry opens an upload instead.
      const other = randomBytes(1000, 3);
      assert.equal((await pushBlob(dst, other, { mountFrom: "source/app" })).how, "uploaded");
    } finally {
      src.close();
      dst.close();
      await reg.stop();
      await tokens.close();
    }
  });
});

Deno.test("pushManifest() puts by tag and by digest with the media type", async () => {
  await withRegistry({}, async (host, client) => {
    const repo = openRepository(`${host}/app`, client);
    try {
      const bytes = await Deno.readFile(blobPath(HELLO_LAYOUT, CONVERTED));
      await assert.rejects(
        pushManifest(repo, bytes, { tag: "v1" }),
        (err) => err instanceof InvalidArgumentError && /BLOB_UNKNOWN/.test(err.message),
      );
      await pushBlob(repo, LAYER);
      await pushBlob(repo, await Deno.readFile(blobPath(HELLO_LAYOUT, CONFIG)));
      const desc = await pushManifest(repo, bytes, { tag: "v1" });
      assert.deepEqual(desc, { mediaType: OCI_MANIFEST, digest: CONVERTED, size: bytes.length });
      const byTag = await fetchManifest(repo, "v1");
      assert.equal(byTag.descriptor.digest, CONVERTED);
      assert.equal(byTag.descriptor.mediaType, OCI_MANIFEST);
      assert.deepEqual(byTag.bytes, bytes);
      await pushManifest(repo, bytes);
      assert.equal((await fetchManifest(repo, CONVERTED)).descriptor.size, bytes.length);
    } finally {
      repo.close();
    }
  });
});
