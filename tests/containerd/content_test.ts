import assert from "node:assert/strict";
import { WRITE_CHUNK } from "../../src/containerd/mod.ts";
import { FailedPreconditionError, NotFoundError } from "../../src/errors.ts";
import { digestOf } from "../../src/registry/mod.ts";
import { randomBytes } from "../_helpers.ts";
import { canRunContainerd, withClient } from "./_client.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !canRunContainerd, fn });

test("content.writeBlob() stores a multi-chunk blob whose info carries its labels", async () => {
  await withClient(async ({ leased: client, ctd }) => {
    const data = randomBytes(2 * WRITE_CHUNK + 12345, 3);
    const digest = await digestOf(data);
    const labels = { "containerd.io/gc.root": "test", "x/y": "z" };
    await client.content.writeBlob(`blob-${digest}`, data, digest, labels);

    const info = await client.content.info(digest);
    assert.equal(info.digest, digest);
    assert.equal(info.size, BigInt(data.length));
    assert.deepEqual(info.labels, labels);
    assert.deepEqual(await client.content.read(digest), data);
    assert.deepEqual(await client.content.read(digest, 10, 5), data.subarray(10, 15));
    // ctr sees the same blob in the same namespace.
    const ls = await ctd.ctr(["content", "ls", "-q"]);
    assert.equal(ls.stdout.trim(), digest);
  });
});

test("content.writeBlob() returns normally when the blob is already there", async () => {
  await withClient(async ({ leased: client }) => {
    const data = new TextEncoder().encode('{"hello":"world"}');
    const digest = await digestOf(data);
    await client.content.writeBlob("one", data, digest);
    await client.content.writeBlob("two", data, digest);
    assert.equal((await client.content.info(digest)).size, BigInt(data.length));
  });
});

test("content.writeBlob() stores an empty blob", async () => {
  await withClient(async ({ leased: client }) => {
    const data = new Uint8Array(0);
    const digest = await digestOf(data);
    await client.content.writeBlob("empty", data, digest);
    assert.equal((await client.content.info(digest)).size, 0n);
  });
});

test("content.writeBlob() fails with FailedPreconditionError when the digest does not match", async () => {
  await withClient(async ({ leased: client }) => {
    const wrong = `sha256:${"0".repeat(64)}`;
    await assert.rejects(
      client.content.writeBlob("bad", randomBytes(1000), wrong),
      (err) => err instanceof FailedPreconditionError && err.message.includes(wrong),
    );
    await assert.rejects(client.content.info(wrong), NotFoundError);
  });
});

test("content.update() changes only the labels named by the field paths", async () => {
  await withClient(async ({ leased: client }) => {
    const data = randomBytes(100);
    const digest = await digestOf(data);
    await client.content.writeBlob("u", data, digest, { keep: "1", change: "old" });
    const updated = await client.content.update(digest, { change: "new", add: "2" }, [
      "labels.change",
      "labels.add",
    ]);
    assert.deepEqual(updated.labels, { keep: "1", change: "new", add: "2" });
    const replaced = await client.content.update(digest, { only: "this" });
    assert.deepEqual(replaced.labels, { only: "this" });
    assert.deepEqual((await client.content.info(digest)).labels, { only: "this" });
  });
});

test("content.list() and content.delete() see and remove blobs", async () => {
  await withClient(async ({ leased: client }) => {
    const a = randomBytes(10, 1);
    const b = randomBytes(10, 2);
    const da = await digestOf(a);
    const db = await digestOf(b);
    await client.content.writeBlob("a", a, da, { tag: "a" });
    await client.content.writeBlob("b", b, db);
    const all = [];
    for await (const info of client.content.list()) all.push(info.digest);
    assert.deepEqual(all.sort(), [da, db].sort());
    const tagged = [];
    for await (const info of client.content.list(["labels.tag==a"])) tagged.push(info.digest);
    assert.deepEqual(tagged, [da]);
    await client.content.delete(da);
    await assert.rejects(client.content.info(da), NotFoundError);
    await assert.rejects(client.content.delete(da), NotFoundError);
  });
});
