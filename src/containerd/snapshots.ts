/**
 * The snapshots service of containerd, for one snapshotter (`native`,
 * `overlayfs`, or a proxy plugin such as `overlaybd`).
 *
 * @module
 */

import type { Mount } from "./gen/containerd/types/mount_pb.ts";
import {
  type Info as SnapshotInfo,
  Snapshots,
} from "./gen/containerd/services/snapshots/v1/snapshots_pb.ts";
import { type Channel, type Labels, present, serverStream, unary } from "./_rpc.ts";

/** Bytes and inodes a snapshot uses by itself. */
export interface SnapshotUsage {
  size: bigint;
  inodes: bigint;
}

/** containerd's snapshots API for one snapshotter. */
export interface SnapshotsClient {
  /** The snapshotter every call names. */
  readonly snapshotter: string;
  /** New active snapshot `key` on committed `parent` ("" for none); its mounts. */
  prepare(key: string, parent?: string, labels?: Labels): Promise<Mount[]>;
  /** New read-only view `key` of committed `parent`; its mounts. */
  view(key: string, parent?: string, labels?: Labels): Promise<Mount[]>;
  /** Mounts of an active snapshot or view. */
  mounts(key: string): Promise<Mount[]>;
  /** Commits active snapshot `key` as `name`. */
  commit(name: string, key: string, labels?: Labels): Promise<void>;
  remove(key: string): Promise<void>;
  stat(key: string): Promise<SnapshotInfo>;
  /**
   * Changes labels of snapshot `name`; `fieldpaths` such as `labels.<key>`
   * limit what changes (none: every mutable field, i.e. all labels).
   */
  update(name: string, labels: Labels, fieldpaths?: string[]): Promise<SnapshotInfo>;
  /** Every snapshot matching any of `filters` (none: all). */
  list(filters?: string[]): AsyncIterable<SnapshotInfo>;
  usage(key: string): Promise<SnapshotUsage>;
  cleanup(): Promise<void>;
}

/** The snapshots client of `snapshotter` on `channel`. */
export function snapshotsClient(channel: Channel, snapshotter: string): SnapshotsClient {
  const s = snapshotter;
  const what = (verb: string, key: string) => `${verb} snapshot ${key} (snapshotter ${s})`;
  return {
    snapshotter,
    async prepare(key, parent = "", labels = {}) {
      const req = { snapshotter: s, key, parent, labels };
      return (await unary(channel, Snapshots.method.prepare, req, what("prepare", key))).mounts;
    },
    async view(key, parent = "", labels = {}) {
      const req = { snapshotter: s, key, parent, labels };
      return (await unary(channel, Snapshots.method.view, req, what("view", key))).mounts;
    },
    async mounts(key) {
      const req = { snapshotter: s, key };
      return (await unary(channel, Snapshots.method.mounts, req, what("mounts of", key))).mounts;
    },
    async commit(name, key, labels = {}) {
      const req = { snapshotter: s, name, key, labels };
      await unary(channel, Snapshots.method.commit, req, what(`commit as ${name}`, key));
    },
    async remove(key) {
      await unary(channel, Snapshots.method.remove, { snapshotter: s, key }, what("remove", key));
    },
    async stat(key) {
      const res = await unary(
        channel,
        Snapshots.method.stat,
        { snapshotter: s, key },
        what("stat", key),
      );
      return present(res.info, "snapshot info");
    },
    async update(name, labels, fieldpaths = []) {
      const req = {
        snapshotter: s,
        info: { name, labels },
        updateMask: fieldpaths.length ? { paths: fieldpaths } : undefined,
      };
      return present(
        (await unary(channel, Snapshots.method.update, req, what("update", name))).info,
        "snapshot info",
      );
    },
    async *list(filters = []) {
      const req = { snapshotter: s, filters };
      const context = `list snapshots of ${s} (filters ${JSON.stringify(filters)})`;
      for await (const batch of serverStream(channel, Snapshots.method.list, req, context)) {
        yield* batch.info;
      }
    },
    async usage(key) {
      const res = await unary(
        channel,
        Snapshots.method.usage,
        { snapshotter: s, key },
        what("usage of", key),
      );
      return { size: res.size, inodes: res.inodes };
    },
    async cleanup() {
      await unary(
        channel,
        Snapshots.method.cleanup,
        { snapshotter: s },
        `clean up snapshotter ${s}`,
      );
    },
  };
}
