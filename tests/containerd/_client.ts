/**
 * Test helper: a private containerd (see `_containerd.ts`) and a client of
 * it in the fixture's namespace, closed afterwards.
 *
 * @module
 */

import { type ContainerdClient, openContainerdClient } from "../../src/containerd/mod.ts";
import { type ContainerdFixture, withContainerd } from "./_containerd.ts";

/** Whether the tests that start containerd can run (they need root). */
export const canRunContainerd = Deno.uid() === 0;

/** What {@linkcode withClient} gives a test. */
export interface ClientFixture {
  client: ContainerdClient;
  /**
   * The same client within lease `test`: containerd's garbage collector,
   * which runs often, removes blobs and snapshots nothing refers to unless a
   * lease holds them.
   */
  leased: ContainerdClient;
  ctd: ContainerdFixture;
}

/** Runs `fn` with a fresh containerd and a client of it. */
export async function withClient(fn: (f: ClientFixture) => Promise<void>): Promise<void> {
  await withContainerd({}, async (ctd) => {
    const client = openContainerdClient({ address: ctd.address, namespace: ctd.namespace });
    try {
      const lease = await client.leases.create("test");
      await fn({ client, leased: client.withLease(lease.id), ctd });
    } finally {
      client.close();
    }
  });
}
