import {
  AlreadyExistsError,
  FailedPreconditionError,
  UnavailableError,
  UnsupportedError,
} from "../errors.ts";
import { labels as obd } from "../oci/mod.ts";
import { defaultSnapshotterConfig, type SnapshotterConfig } from "./config.ts";
import { DeviceRefs } from "./device_refs.ts";
import type { SnapshotDevices } from "./devices.ts";
import { diskUsage } from "./disk_usage.ts";
import { parseFilters, snapshotFields } from "./filter.ts";
import { LOCAL_COMMIT_PATH, REMOTE, REMOTE_VALUE, TARGET_SNAPSHOT_REF } from "./labels.ts";
import { existsSync, Layout } from "./layout.ts";
import { hasLocalLayer, readDeviceConfigIfAny, writeDeviceConfigSync } from "./local_layer.ts";
import { MetaStore, type SnapshotRecord } from "./metastore.ts";
import { overlayHasIndex, overlayMounts } from "./mounts.ts";
import {
  type RemoteLayer,
  remoteLayerConfig,
  remoteLayerOf,
  repoBlobUrlFor,
} from "./remote_layer.ts";
import { attachRecording, recordTracePathOf } from "./record_trace.ts";
import { createSnapshot, removeTree } from "./snapshot_dirs.ts";
import type { MountSpec, SnapshotInfo, Snapshotter, SnapshotUsage } from "./snapshotter.ts";
import {
  fillWritableLayer,
  forgetRwMode,
  requestedRwMode,
  sealWritableLayer,
  type WritableMode,
  writableModeOf,
  writableMounts,
  writableVsizeGiB,
} from "./writable_layer.ts";

/** Options of {@linkcode openSnapshotter}. */
export interface SnapshotterOptions {
  /** State directory: `metadata.db` and `snapshots/` (spec §10.2). */
  root: string;
  /** The snapshotter config (spec §10.1); defaults when absent. Its `root` is not used. */
  config?: SnapshotterConfig;
  /**
   * Devices of overlaybd images; the caller owns and closes them. Without
   * them only plain OCI layers can be mounted.
   */
  devices?: SnapshotDevices;
  /** Log lines (default: none). */
  log?: (line: string) => void;
}

type Labels = Record<string, string>;

function info(r: SnapshotRecord): SnapshotInfo {
  const { name, parent, kind, created, updated } = r;
  return { name, parent, kind, labels: { ...r.labels }, created, updated };
}

/** A pull that containerd unpacks itself into a bind mount: an overlaybd blob to download. */
function isBlobExtraction(labels: Labels): boolean {
  return Boolean(labels[TARGET_SNAPSHOT_REF] && labels[obd.BLOB_DIGEST]);
}

class OverlaybdSnapshotter implements Snapshotter {
  readonly #layout: Layout;
  readonly #store: MetaStore;
  readonly #config: SnapshotterConfig;
  readonly #log: (line: string) => void;
  readonly #refs: DeviceRefs;
  readonly #indexOff = overlayHasIndex();
  #closed = false;

  constructor(
    layout: Layout,
    store: MetaStore,
    refs: DeviceRefs,
    config: SnapshotterConfig,
    log: (line: string) => void,
  ) {
    this.#layout = layout;
    this.#store = store;
    this.#refs = refs;
    this.#config = config;
    this.#log = log;
  }

  get #s(): MetaStore {
    if (this.#closed) throw new UnavailableError("snapshotter is closed");
    return this.#store;
  }

  async prepare(key: string, parent: string, labels: Labels): Promise<MountSpec[]> {
    return await this.#create("active", key, parent, labels);
  }

  async view(key: string, parent: string, labels: Labels): Promise<MountSpec[]> {
    return await this.#create("view", key, parent, labels);
  }

  async #create(
    kind: "active" | "view",
    key: string,
    parent: string,
    labels: Labels,
  ): Promise<MountSpec[]> {
    const p = parent ? this.#s.find(parent) : undefined;
    const remote = kind === "active" ? remoteLayerOf(labels) : undefined;
    if (remote) {
      if (this.#s.find(remote.target)) {
        throw new AlreadyExistsError(`target snapshot ${JSON.stringify(remote.target)} exists`);
      }
      if (!p || p.kind !== "committed" || this.#refs.isBlock(p.id)) {
        return await this.#commitRemote(key, parent, labels, remote, p);
      }
      this.#log(`${key}: parent ${parent} is not an overlaybd layer; unpacking ${remote.digest}`);
    }
    const s = { kind, key, parent, labels };
    if (kind === "active" && !labels[TARGET_SNAPSHOT_REF]) {
      // A container's root: its own writable device on an overlaybd parent (or on nothing).
      const mode = requestedRwMode(labels, this.#config.rwMode);
      if (mode !== "overlayfs" && (!p || this.#refs.isBlock(p.id))) {
        return await this.#prepareWritable(key, parent, labels, p, mode);
      }
    }
    if (!p || !this.#refs.isBlock(p.id) || isBlobExtraction(labels)) {
      const ownerOf = p ? this.#layout.fs(p.id) : undefined;
      return this.#mounts(await createSnapshot(this.#layout, this.#s, { ...s, ownerOf }));
    }
    return await this.#refs.locked(p.id, async () => {
      const r = await createSnapshot(this.#layout, this.#s, s);
      try {
        const tracePath = recordTracePathOf(labels);
        if (tracePath === undefined) await this.#refs.attach(p.id);
        else {
          const attached = (this.#s.byId(p.id)?.device ?? null) !== null;
          const attach = () => this.#refs.attach(p.id);
          await attachRecording(this.#layout.config(p.id), tracePath, attached, attach);
        }
      } catch (err) {
        this.#s.remove(key);
        await removeTree(this.#layout.dir(r.id), this.#log);
        throw err;
      }
      return this.#mounts(r);
    });
  }

  /**
   * A rootfs with a native writable layer (spec §10.4): the layer stacked on
   * the parent's lowers in a device of its own, attached read-write and
   * mounted on its mountpoint (`dir`) or left for containerd to mount
   * (`dev`). Without a parent the layer is formatted as ext4 first.
   */
  async #prepareWritable(
    key: string,
    parent: string,
    labels: Labels,
    p: SnapshotRecord | undefined,
    mode: WritableMode,
  ): Promise<MountSpec[]> {
    const L = this.#layout;
    const layer = {
      mode,
      vsizeGiB: writableVsizeGiB(labels, p !== undefined),
      sparse: this.#config.writableLayerType === "sparse",
      parent: p ? await readDeviceConfigIfAny(L.config(p.id)) : undefined,
    };
    const r = await createSnapshot(L, this.#s, {
      kind: "active",
      key,
      parent,
      labels,
      fill: (r, tmp) => fillWritableLayer(L, r.id, tmp, layer),
    });
    return await this.#refs.locked(r.id, async () => {
      try {
        await this.#refs.attach(r.id, { mount: mode === "dir" });
      } catch (err) {
        this.#s.remove(key);
        await removeTree(L.dir(r.id), this.#log);
        throw err;
      }
      this.#log(`prepared ${key} with a writable layer (${mode}) on ${parent || "nothing"}`);
      return this.#mounts(r);
    });
  }

  /**
   * The lazy pull of an overlaybd layer: a committed snapshot named after
   * the target whose device config reads the blob from the registry, then
   * AlreadyExists so containerd neither downloads nor unpacks it.
   */
  async #commitRemote(
    key: string,
    parent: string,
    labels: Labels,
    layer: RemoteLayer,
    p: SnapshotRecord | undefined,
  ): Promise<never> {
    const L = this.#layout;
    const parentConfig = p ? await readDeviceConfigIfAny(L.config(p.id)) : undefined;
    const repoBlobUrl = repoBlobUrlFor(layer.imageRef, this.#config.mirrorRegistry);
    const r = await createSnapshot(L, this.#s, {
      kind: "active",
      key,
      parent,
      labels,
      fill: (r, tmp) => {
        const dir = L.fs(r.id);
        const config = remoteLayerConfig(parentConfig, layer, repoBlobUrl, dir, L.resultFile(r.id));
        writeDeviceConfigSync(`${tmp}/block/config.v1.json`, config);
        Deno.writeTextFileSync(`${tmp}/image_ref`, layer.imageRef);
      },
      then: () =>
        this.#s.commit(key, layer.target, { size: 0, inodes: 0 }, {
          ...labels,
          [REMOTE]: REMOTE_VALUE,
        }),
    });
    this.#s.setUsage(r.id, await this.#blockUsage(r.id));
    this.#log(`committed remote snapshot ${layer.target} (${layer.digest} of ${layer.imageRef})`);
    throw new AlreadyExistsError(
      `target snapshot ${JSON.stringify(layer.target)}: committed as a remote snapshot`,
    );
  }

  /**
   * Mounts of an active or view record; its writable device, or the device
   * of an overlaybd parent, must be attached.
   */
  #mounts(r: SnapshotRecord): MountSpec[] {
    const L = this.#layout;
    const rw = writableModeOf(L, r.id);
    if (rw) {
      const loop = this.#refs.loopDevice(r.id);
      if (rw === "dev" && !loop) {
        throw new UnavailableError(`snapshot ${r.name}: its writable device is not attached`);
      }
      return writableMounts(rw, L.mountpoint(r.id), loop ?? "");
    }
    const kind = r.kind === "view" ? "view" : "active";
    const plan = { kind, upper: L.fs(r.id), work: L.work(r.id), indexOff: this.#indexOff } as const;
    if (r.parentId === null || isBlobExtraction(r.labels)) {
      return overlayMounts({ ...plan, lowers: [] });
    }
    if (this.#refs.isBlock(r.parentId)) {
      return overlayMounts({ ...plan, lowers: [L.mountpoint(r.parentId)] });
    }
    const chain = [r.parentId, ...this.#s.chain(r.parentId)];
    const block = chain.find((id) => this.#refs.isBlock(id));
    if (block !== undefined) {
      const name = this.#s.byId(block)?.name;
      throw new UnsupportedError(
        `snapshot ${r.name}: a plain layer on overlaybd layer ${name} is not supported`,
      );
    }
    return overlayMounts({ ...plan, lowers: chain.map((id) => L.fs(id)) });
  }

  async mounts(key: string): Promise<MountSpec[]> {
    const r = this.#s.get(key);
    if (r.kind === "committed") {
      throw new FailedPreconditionError(`snapshot ${JSON.stringify(key)} is committed: no mounts`);
    }
    const rw = writableModeOf(this.#layout, r.id);
    if (rw) {
      return await this.#refs.locked(r.id, async () => {
        await this.#refs.attach(r.id, { mount: rw === "dir" });
        return this.#mounts(r);
      });
    }
    const pid = r.parentId;
    if (pid === null || !this.#refs.isBlock(pid) || isBlobExtraction(r.labels)) {
      return this.#mounts(r);
    }
    return await this.#refs.locked(pid, async () => {
      await this.#refs.attach(pid);
      return this.#mounts(r);
    });
  }

  async commit(name: string, key: string, labels: Labels): Promise<void> {
    const r = this.#s.get(key);
    const L = this.#layout;
    const active = r.kind === "active";
    const rw = active && writableModeOf(L, r.id) !== undefined;
    if (rw) {
      // Spec §10.4: unmount and detach, seal; refused before anything changes when it cannot finish.
      if (this.#s.find(name)) {
        throw new AlreadyExistsError(`committed snapshot ${JSON.stringify(name)} exists`);
      }
      await this.#refs.locked(r.id, async () => {
        await this.#refs.detach(r.id, `cannot commit ${JSON.stringify(key)}`);
        await sealWritableLayer(L, r.id);
      });
    }
    if (active && existsSync(L.sealed(r.id))) {
      labels = { ...labels, [LOCAL_COMMIT_PATH]: L.sealed(r.id) };
    }
    const usage = active ? await diskUsage([L.fs(r.id)]) : { size: 0, inodes: 0 };
    // Spec §8.6: an unpacked acceleration layer on an overlaybd layer is the top lower of its
    // own device, whose config says so: the device then replays `fs/trace`.
    const accel = active && r.labels[obd.ACCELERATION_LAYER] === "yes" && r.parentId !== null &&
      this.#refs.isBlock(r.parentId);
    const local = active && (accel || await hasLocalLayer(L.fs(r.id)));
    const parentConfig = local && r.parentId !== null
      ? await readDeviceConfigIfAny(L.config(r.parentId))
      : undefined;
    this.#s.transaction(() => {
      this.#s.commit(key, name, usage, labels);
      if (!local) return;
      // A downloaded overlaybd blob or a sealed writable layer: a local lower of its own device now.
      writeDeviceConfigSync(L.config(r.id), {
        repoBlobUrl: parentConfig?.repoBlobUrl ?? "",
        lowers: [...(parentConfig?.lowers ?? []), { dir: L.fs(r.id) }],
        upper: {},
        resultFile: L.resultFile(r.id),
        ...(accel ? { accelerationLayer: true } : {}),
      });
      if (rw) forgetRwMode(L, r.id);
    });
    await this.#releaseParent(r);
  }

  async #releaseParent(r: SnapshotRecord): Promise<void> {
    if (r.parentId !== null && this.#config.autoRemoveDev) await this.#refs.release(r.parentId);
  }

  async remove(key: string): Promise<void> {
    const r = this.#s.get(key);
    if (r.device !== null || this.#refs.isBlock(r.id)) {
      await this.#refs.removeWith(r.id, key, () => this.#s.remove(key));
    } else {
      this.#s.remove(key);
    }
    if (!this.#config.asyncRemove) await removeTree(this.#layout.dir(r.id), this.#log);
    await this.#releaseParent(r);
  }

  // deno-lint-ignore require-await
  async stat(key: string): Promise<SnapshotInfo> {
    return info(this.#s.get(key));
  }

  // deno-lint-ignore require-await
  async update(req: Pick<SnapshotInfo, "name" | "labels">, paths: string[]): Promise<SnapshotInfo> {
    return info(this.#s.updateLabels(req.name, req.labels, paths));
  }

  async usage(key: string): Promise<SnapshotUsage> {
    const r = this.#s.get(key);
    if (r.kind !== "active") return r.usage;
    if (writableModeOf(this.#layout, r.id)) return await this.#blockUsage(r.id);
    return await diskUsage([this.#layout.fs(r.id)]);
  }

  /** Use of `fs` and `block` without the device's mountpoint, as upstream reports it. */
  #blockUsage(id: number): Promise<SnapshotUsage> {
    const L = this.#layout;
    return diskUsage([L.fs(id), L.block(id)], [L.mountpoint(id)]);
  }

  walk(filters: string[]): AsyncIterable<SnapshotInfo> {
    const filter = parseFilters(filters);
    const records = this.#s.list();
    return (async function* () {
      for (const r of records) {
        const i = info(r);
        if (filter.match(snapshotFields(i))) yield i;
      }
    })();
  }

  async cleanup(): Promise<void> {
    const store = this.#s;
    if (this.#config.autoRemoveDev) {
      for (const r of store.list()) if (r.device !== null) await this.#refs.release(r.id);
    }
    const known = new Set(store.list().map((r) => String(r.id)));
    for await (const e of Deno.readDir(this.#layout.snapshots)) {
      if (known.has(e.name)) continue;
      const dir = `${this.#layout.snapshots}/${e.name}`;
      if (await removeTree(dir, this.#log)) this.#log(`cleanup: removed ${dir}`);
    }
  }

  // deno-lint-ignore require-await
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#store.close();
  }
}

/**
 * Opens the snapshotter on `options.root` (created when missing). When
 * devices are given, every device recorded as attached is checked
 * ({@linkcode SnapshotDevices.recover}); one that does not work any more is
 * attached again on the next Prepare or Mounts.
 *
 * Plain OCI layers behave as in containerd's overlayfs snapshotter;
 * overlaybd layers (spec §10.3, §10.4) are committed as remote snapshots on
 * pull. A container's root on them gets an overlayfs upper on the image's
 * shared read-only device (`rwMode` `overlayfs`), or a native writable
 * layer in a device of its own (`dir`: a bind of its mounted ext4; `dev`:
 * the loop device for containerd to mount), chosen per Prepare by the label
 * `containerd.io/snapshot/overlaybd.writable`. Committing such a root seals
 * its layer into a local overlaybd layer that children stack on.
 *
 * @throws {UnavailableError} when the metadata store cannot be opened
 */
export async function openSnapshotter(options: SnapshotterOptions): Promise<Snapshotter> {
  const config = options.config ?? defaultSnapshotterConfig();
  const layout = new Layout(options.root);
  await Deno.mkdir(layout.snapshots, { recursive: true, mode: 0o700 });
  const log = options.log ?? (() => {});
  const store = new MetaStore(layout.db);
  const refs = new DeviceRefs(layout, store, options.devices, log);
  try {
    await refs.recover();
  } catch (err) {
    store.close();
    throw err;
  }
  return new OverlaybdSnapshotter(layout, store, refs, config, log);
}
