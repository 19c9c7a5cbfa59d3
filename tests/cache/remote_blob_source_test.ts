import assert from "node:assert/strict";
import { openRemoteBlobSource } from "../../src/cache/mod.ts";
import { InvalidArgumentError, UnavailableError } from "../../src/errors.ts";
import { COMMIT_DIGEST, loadGolden } from "./_golden_blob.ts";

const { blob } = await loadGolden();

Deno.test("RemoteBlobSource.add() gives one id per digest and routes requests to its fetchRange", async () => {
  const source = openRemoteBlobSource({ maxInflight: 2 });
  const asked: string[] = [];
  try {
    const a = source.add(COMMIT_DIGEST, async (digest, offset, length, into, signal) => {
      asked.push(digest);
      await blob.fetchRange(digest, offset, length, into, signal);
    });
    const b = source.add("sha256:" + "0".repeat(64), () => Promise.reject(new Error("not me")));
    assert.equal(source.add(COMMIT_DIGEST, blob.fetchRange), a); // same digest, same id
    assert.notEqual(a, b);
    const got = await source.bridge.fetch(a, 4096, 8192);
    assert.deepEqual(got, blob.bytes.subarray(4096, 4096 + 8192));
    assert.deepEqual(asked, []); // the second add replaced the first fetchRange
    assert.deepEqual(source.stats(), { requests: 1, bytesFetched: 8192, failures: 0 });
  } finally {
    await source.close();
  }
});

Deno.test("RemoteBlobSource counts failures and fails requests for unknown ids", async () => {
  const source = openRemoteBlobSource();
  try {
    const id = source.add(COMMIT_DIGEST, () => Promise.reject(new Error("registry down")));
    await assert.rejects(source.bridge.fetch(id, 0, 512), UnavailableError);
    await assert.rejects(source.bridge.fetch(99, 0, 512), UnavailableError);
    assert.deepEqual(source.stats(), { requests: 2, bytesFetched: 0, failures: 2 });
  } finally {
    await source.close();
  }
});

Deno.test("openRemoteBlobSource() throws InvalidArgumentError for a bad maxInflight; add() after close throws", async () => {
  assert.throws(() => openRemoteBlobSource({ maxInflight: 0 }), InvalidArgumentError);
  assert.throws(() => openRemoteBlobSource({ maxInflight: 2000 }), InvalidArgumentError);
  const source = openRemoteBlobSource();
  await source.close();
  await source.close();
  assert.throws(() => source.add(COMMIT_DIGEST, blob.fetchRange), InvalidArgumentError);
});
