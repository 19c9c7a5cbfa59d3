import assert from "node:assert/strict";
import { AlreadyExistsError, NotFoundError } from "../../src/errors.ts";
import { digestOf, OCI_MANIFEST } from "../../src/registry/mod.ts";
import { canRunContainerd, withClient } from "./_client.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !canRunContainerd, fn });

async function target(text: string) {
  const bytes = new TextEncoder().encode(text);
  return { mediaType: OCI_MANIFEST, digest: await digestOf(bytes), size: BigInt(bytes.length) };
}

test("images.create() makes a record that get(), list() and ctr see", async () => {
  await withClient(async ({ client, ctd }) => {
    const name = "registry.test/app:1";
    const t = await target("manifest one");
    const created = await client.images.create({ name, target: t, labels: { a: "1" } });
    assert.equal(created.name, name);
    assert.ok(created.createdAt);

    const got = await client.images.get(name);
    assert.equal(got.target?.digest, t.digest);
    assert.equal(got.target?.size, t.size);
    assert.equal(got.target?.mediaType, OCI_MANIFEST);
    assert.deepEqual(got.labels, { a: "1" });

    await client.images.create({ name: "registry.test/other:2", target: await target("two") });
    assert.equal((await client.images.list()).length, 2);
    assert.deepEqual((await client.images.list([`name==${name}`])).map((i) => i.name), [name]);
    assert.equal((await ctd.ctr(["images", "ls", "-q"])).stdout.split("\n").sort()[1], name);
  });
});

test("images.create() fails with AlreadyExistsError for a taken name", async () => {
  await withClient(async ({ client }) => {
    const image = { name: "dup:1", target: await target("x") };
    await client.images.create(image);
    await assert.rejects(
      client.images.create(image),
      (err) => err instanceof AlreadyExistsError && err.message.includes("dup:1"),
    );
  });
});

test("images.update() changes only what the field mask names", async () => {
  await withClient(async ({ client }) => {
    const name = "upd:1";
    const first = await target("first");
    const second = await target("second");
    await client.images.create({ name, target: first, labels: { keep: "1", change: "old" } });

    const labelled = await client.images.update(
      { name, target: second, labels: { change: "new" } },
      ["labels.change"],
    );
    assert.equal(labelled.target?.digest, first.digest, "target not in the mask");
    assert.deepEqual(labelled.labels, { keep: "1", change: "new" });

    const retargeted = await client.images.update({ name, target: second }, ["target"]);
    assert.equal(retargeted.target?.digest, second.digest);
    assert.deepEqual(retargeted.labels, { keep: "1", change: "new" });
  });
});

test("images.delete() removes the record; get() then fails with NotFoundError", async () => {
  await withClient(async ({ client }) => {
    await client.images.create({ name: "gone:1", target: await target("g") });
    await client.images.delete("gone:1", true);
    await assert.rejects(client.images.get("gone:1"), NotFoundError);
    await assert.rejects(client.images.delete("gone:1"), NotFoundError);
  });
});
