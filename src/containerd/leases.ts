/**
 * containerd's leases: while one exists, what was made under it (blobs,
 * snapshots, images) is safe from garbage collection.
 *
 * @module
 */

import { type Lease, Leases } from "./gen/containerd/services/leases/v1/leases_pb.ts";
import { type Channel, type Labels, present, unary } from "./_rpc.ts";

/** Label that makes containerd drop a lease after this time (RFC 3339). */
export const LEASE_EXPIRE_LABEL = "containerd.io/gc.expire";

/** containerd's leases API. */
export interface LeasesClient {
  /** A new lease `id` (empty: containerd picks one) with `labels`. */
  create(id: string, labels?: Labels): Promise<Lease>;
  /** Ends lease `id`; `sync` waits for the garbage collection it allows. */
  delete(id: string, sync?: boolean): Promise<void>;
  /** Every lease matching any of `filters` (none: all). */
  list(filters?: string[]): Promise<Lease[]>;
}

/** The leases client on `channel`. */
export function leasesClient(channel: Channel): LeasesClient {
  return {
    async create(id, labels = {}) {
      const res = await unary(channel, Leases.method.create, { id, labels }, `create lease ${id}`);
      return present(res.lease, "lease");
    },
    async delete(id, sync = false) {
      await unary(channel, Leases.method.delete, { id, sync }, `delete lease ${id}`);
    },
    async list(filters = []) {
      const context = `list leases (filters ${JSON.stringify(filters)})`;
      return (await unary(channel, Leases.method.list, { filters }, context)).leases;
    },
  };
}
