import assert from "node:assert/strict";
import { openContainerdClient } from "../../src/containerd/mod.ts";
import { NotFoundError, UnavailableError } from "../../src/errors.ts";
import { digestOf, OCI_MANIFEST } from "../../src/registry/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { canRunContainerd, withClient } from "./_client.ts";

Deno.test("openContainerdClient() calls fail with UnavailableError naming the socket when nothing listens", async () => {
  await withTempDir(async (dir) => {
    const address = `${dir}/missing.sock`;
    const client = openContainerdClient({ address, namespace: "default" });
    try {
      await assert.rejects(client.images.get("x"), (err) => {
        assert.ok(err instanceof UnavailableError, String(err));
        assert.ok(err.message.includes(address), err.message);
        assert.match(err.message, /is containerd running\? set --address or CONTAINERD_ADDRESS/);
        return true;
      });
      await assert.rejects(
        (async () => {
          for await (const _ of client.snapshots("native").list()) { /* none */ }
        })(),
        UnavailableError,
      );
    } finally {
      client.close();
    }
  });
});

Deno.test("openContainerdClient() takes a unix:// address and its namespace from the options", () => {
  const client = openContainerdClient({ address: "unix:///tmp/x.sock", namespace: "k8s.io" });
  try {
    assert.equal(client.address, "/tmp/x.sock");
    assert.equal(client.namespace, "k8s.io");
    assert.equal(client.lease, undefined);
  } finally {
    client.close();
  }
});

Deno.test({
  name: "ContainerdClient sends its namespace: records of one namespace are not in another",
  ignore: !canRunContainerd,
  fn: async () => {
    await withClient(async ({ client, ctd }) => {
      const bytes = new TextEncoder().encode("m");
      const target = { mediaType: OCI_MANIFEST, digest: await digestOf(bytes), size: 1n };
      await client.images.create({ name: "ns-a:1", target });
      const other = openContainerdClient({ address: ctd.address, namespace: "other-ns" });
      try {
        await assert.rejects(other.images.get("ns-a:1"), NotFoundError);
        assert.equal((await other.images.list()).length, 0);
      } finally {
        other.close();
      }
      const ls = await ctd.ctr(["images", "ls", "-q"], { namespace: client.namespace });
      assert.equal(ls.stdout.trim(), "ns-a:1");
    });
  },
});

Deno.test({
  name: "ContainerdClient.withLease() shares the connection; close() of any view closes it once",
  ignore: !canRunContainerd,
  fn: async () => {
    await withClient(async ({ client }) => {
      const view = client.withLease("test");
      assert.equal(view.lease, "test");
      assert.equal(view.namespace, client.namespace);
      assert.equal(view.withLease("other").lease, "other");
      assert.equal((await view.leases.list()).length, 1);
      view.close();
      view.close();
      client.close();
      await assert.rejects(client.leases.list());
    });
  },
});
