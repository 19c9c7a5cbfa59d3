import {
  create,
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { EmptySchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { mountApi, snapshotsApi as snapshotsV1 } from "../containerd/mod.ts";
import { type MethodTable, serverStreaming, unary } from "../grpc/mod.ts";
import type { MountSpec, SnapshotInfo, SnapshotKind, Snapshotter } from "./snapshotter.ts";

const KINDS: Record<SnapshotKind, snapshotsV1.Kind> = {
  view: snapshotsV1.Kind.VIEW,
  active: snapshotsV1.Kind.ACTIVE,
  committed: snapshotsV1.Kind.COMMITTED,
};
/** How many infos one List response carries (containerd batches its own the same way). */
const LIST_BATCH = 100;

function infoOf(i: SnapshotInfo): snapshotsV1.Info {
  return create(snapshotsV1.InfoSchema, {
    name: i.name,
    parent: i.parent,
    kind: KINDS[i.kind],
    labels: i.labels,
    createdAt: timestampFromDate(i.created),
    updatedAt: timestampFromDate(i.updated),
  });
}

const mountOf = (m: MountSpec): mountApi.Mount =>
  create(mountApi.MountSchema, {
    type: m.type,
    source: m.source,
    target: m.target ?? "",
    options: m.options,
  });

/** A unary method whose messages are the generated `req` and `res` schemas. */
function method<Req extends DescMessage, Res extends DescMessage>(
  req: Req,
  res: Res,
  fn: (request: MessageShape<Req>) => Promise<MessageShape<Res>>,
) {
  return unary(
    (bytes) => fromBinary(req, bytes),
    (message: MessageShape<Res>) => toBinary(res, message),
    fn,
  );
}

const EMPTY = create(EmptySchema);

/**
 * containerd's snapshots service (`containerd.services.snapshots.snapshotsV1.Snapshots`)
 * over a {@linkcode Snapshotter}: decodes each request, calls the snapshotter
 * and encodes its answer. The snapshotter's error kinds become gRPC codes in
 * the server (NotFound, AlreadyExists, FailedPrecondition, InvalidArgument),
 * which containerd's proxy turns back into its own errdefs.
 */
export function snapshotsMethods(sn: Snapshotter): MethodTable {
  const path = (name: string) => `/${snapshotsV1.Snapshots.typeName}/${name}`;
  return {
    [path("Prepare")]: method(
      snapshotsV1.PrepareSnapshotRequestSchema,
      snapshotsV1.PrepareSnapshotResponseSchema,
      async (r) =>
        create(snapshotsV1.PrepareSnapshotResponseSchema, {
          mounts: (await sn.prepare(r.key, r.parent, r.labels)).map(mountOf),
        }),
    ),
    [path("View")]: method(
      snapshotsV1.ViewSnapshotRequestSchema,
      snapshotsV1.ViewSnapshotResponseSchema,
      async (r) =>
        create(snapshotsV1.ViewSnapshotResponseSchema, {
          mounts: (await sn.view(r.key, r.parent, r.labels)).map(mountOf),
        }),
    ),
    [path("Mounts")]: method(
      snapshotsV1.MountsRequestSchema,
      snapshotsV1.MountsResponseSchema,
      async (r) =>
        create(snapshotsV1.MountsResponseSchema, { mounts: (await sn.mounts(r.key)).map(mountOf) }),
    ),
    [path("Commit")]: method(snapshotsV1.CommitSnapshotRequestSchema, EmptySchema, async (r) => {
      await sn.commit(r.name, r.key, r.labels);
      return EMPTY;
    }),
    [path("Remove")]: method(snapshotsV1.RemoveSnapshotRequestSchema, EmptySchema, async (r) => {
      await sn.remove(r.key);
      return EMPTY;
    }),
    [path("Stat")]: method(
      snapshotsV1.StatSnapshotRequestSchema,
      snapshotsV1.StatSnapshotResponseSchema,
      async (r) =>
        create(snapshotsV1.StatSnapshotResponseSchema, { info: infoOf(await sn.stat(r.key)) }),
    ),
    [path("Update")]: method(
      snapshotsV1.UpdateSnapshotRequestSchema,
      snapshotsV1.UpdateSnapshotResponseSchema,
      async (r) => {
        const info = await sn.update(
          { name: r.info?.name ?? "", labels: r.info?.labels ?? {} },
          r.updateMask?.paths ?? [],
        );
        return create(snapshotsV1.UpdateSnapshotResponseSchema, { info: infoOf(info) });
      },
    ),
    [path("List")]: serverStreaming(
      (bytes) => fromBinary(snapshotsV1.ListSnapshotsRequestSchema, bytes),
      (m: snapshotsV1.ListSnapshotsResponse) =>
        toBinary(snapshotsV1.ListSnapshotsResponseSchema, m),
      async function* (r) {
        let batch: snapshotsV1.Info[] = [];
        for await (const info of sn.walk(r.filters)) {
          batch.push(infoOf(info));
          if (batch.length === LIST_BATCH) {
            yield create(snapshotsV1.ListSnapshotsResponseSchema, { info: batch });
            batch = [];
          }
        }
        if (batch.length > 0) {
          yield create(snapshotsV1.ListSnapshotsResponseSchema, { info: batch });
        }
      },
    ),
    [path("Usage")]: method(
      snapshotsV1.UsageRequestSchema,
      snapshotsV1.UsageResponseSchema,
      async (r) => {
        const u = await sn.usage(r.key);
        return create(snapshotsV1.UsageResponseSchema, {
          size: BigInt(u.size),
          inodes: BigInt(u.inodes),
        });
      },
    ),
    [path("Cleanup")]: method(snapshotsV1.CleanupRequestSchema, EmptySchema, async () => {
      await sn.cleanup();
      return EMPTY;
    }),
  };
}
