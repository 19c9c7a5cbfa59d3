import assert from "node:assert/strict";
import { LEASE_EXPIRE_LABEL } from "../../src/containerd/mod.ts";
import { NotFoundError } from "../../src/errors.ts";
import { digestOf } from "../../src/registry/mod.ts";
import { randomBytes } from "../_helpers.ts";
import { canRunContainerd, withClient } from "./_client.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !canRunContainerd, fn });

test("leases.create() makes a lease with labels that list() and ctr show; delete() ends it", async () => {
  await withClient(async ({ client, ctd }) => {
    const expire = new Date(Date.now() + 3600_000).toISOString();
    const lease = await client.leases.create("rpull-1", { [LEASE_EXPIRE_LABEL]: expire });
    assert.equal(lease.id, "rpull-1");
    assert.deepEqual(lease.labels, { [LEASE_EXPIRE_LABEL]: expire });
    assert.ok((await client.leases.list()).some((l) => l.id === "rpull-1"));
    assert.match((await ctd.ctr(["leases", "ls"])).stdout, /rpull-1/);

    await client.leases.delete("rpull-1", true);
    assert.ok(!(await client.leases.list()).some((l) => l.id === "rpull-1"));
    await assert.rejects(client.leases.delete("rpull-1"), NotFoundError);
  });
});

test("leases.create() with an empty id lets containerd pick one", async () => {
  await withClient(async ({ client }) => {
    const lease = await client.leases.create("");
    assert.ok(lease.id.length > 0);
  });
});

test("withLease() keeps a blob through garbage collection until its lease is deleted", async () => {
  await withClient(async ({ client }) => {
    const lease = await client.leases.create("hold");
    const leased = client.withLease(lease.id);
    assert.equal(leased.lease, "hold");
    const data = randomBytes(4096, 9);
    const digest = await digestOf(data);
    await leased.content.writeBlob("held", data, digest);

    // Deleting another lease with sync runs the garbage collector now.
    await client.leases.create("other");
    await client.leases.delete("other", true);
    assert.equal((await client.content.info(digest)).digest, digest, "the lease holds the blob");

    await client.leases.delete("hold", true);
    await assert.rejects(client.content.info(digest), NotFoundError);
  });
});
