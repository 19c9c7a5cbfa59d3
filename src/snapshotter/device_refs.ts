import { mountAt, overlaysUsing, readMountTable } from "../device/mod.ts";
import { FailedPreconditionError } from "../errors.ts";
import { KeyedLock } from "./_keyed_lock.ts";
import type { AttachDeviceOptions, SnapshotDevices } from "./devices.ts";
import { existsSync, type Layout } from "./layout.ts";
import type { MetaStore } from "./metastore.ts";

/**
 * Which overlaybd snapshots have their device attached, and when to attach
 * or detach it. The read-only device of an image layer is needed while an
 * active or view snapshot has it as parent (its users, counted in the
 * store, so the count survives a restart); the writable device of an active
 * snapshot (`rwMode` dir or dev) is its own, until its commit or removal.
 * The store also records where each device is mounted. Every
 * attach, detach, and snapshot change that decides one runs under the
 * device's lock, so two containers starting at once attach once, and a
 * container starting while the last one goes keeps its device.
 */
export class DeviceRefs {
  readonly #layout: Layout;
  readonly #store: MetaStore;
  readonly #devices: SnapshotDevices | undefined;
  readonly #log: (line: string) => void;
  readonly #locks = new KeyedLock<number>();

  constructor(
    layout: Layout,
    store: MetaStore,
    devices: SnapshotDevices | undefined,
    log: (line: string) => void,
  ) {
    this.#layout = layout;
    this.#store = store;
    this.#devices = devices;
    this.#log = log;
  }

  /** Whether snapshot `id` is an overlaybd image layer (it has a device config). */
  isBlock(id: number): boolean {
    return existsSync(this.#layout.config(id));
  }

  /** Runs `fn` holding the lock of the device of snapshot `id`. */
  locked<T>(id: number, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(id, fn);
  }

  /**
   * After a restart: asks the devices about every attachment recorded; one
   * that does not work any more is forgotten, to be attached again on use.
   */
  async recover(): Promise<void> {
    if (!this.#devices) return;
    for (const r of this.#store.list()) {
      if (r.device === null) continue;
      const ok = await this.#devices.recover(r.device).catch((err) => {
        this.#log(`recover the device of ${r.name}: ${(err as Error).message}`);
        return false;
      });
      if (!ok) this.#store.setDevice(r.id, null);
      this.#log(
        `device of ${r.name} on ${r.device}: ${ok ? "still attached" : "to be attached again"}`,
      );
    }
  }

  /** The loop device of snapshot `id`'s device, when attached by this process. */
  loopDevice(id: number): string | undefined {
    return this.#devices?.loopDevice(this.#layout.mountpoint(id));
  }

  /**
   * What still uses the device of `id`: overlay mounts on its mountpoint,
   * and mounts of its loop device elsewhere (a bind into a container, or
   * containerd's own mount of a `dev` device).
   */
  async #users(id: number): Promise<string[]> {
    const table = await readMountTable();
    const mountpoint = this.#layout.mountpoint(id);
    const loop = this.loopDevice(id) ?? mountAt(table, mountpoint)?.source ?? "";
    const others = /^\/dev\/loop\d+$/.test(loop)
      ? table.filter((m) => m.source === loop && m.mountpoint !== mountpoint)
        .map((m) => m.mountpoint)
      : [];
    return [...overlaysUsing(table, mountpoint), ...others];
  }

  /**
   * Attaches the device of overlaybd snapshot `id` unless it is recorded
   * attached. Call it holding the lock of `id`.
   *
   * @throws {FailedPreconditionError} when there are no devices
   */
  async attach(id: number, options?: AttachDeviceOptions): Promise<void> {
    const r = this.#store.byId(id);
    if (!r || r.device !== null) return;
    if (!this.#devices) {
      throw new FailedPreconditionError(
        `snapshot ${r.name} is an overlaybd layer but this snapshotter has no devices`,
      );
    }
    const mountpoint = this.#layout.mountpoint(id);
    await Deno.mkdir(mountpoint, { recursive: true });
    await this.#devices.attach(this.#layout.config(id), mountpoint, options);
    this.#store.setDevice(id, mountpoint);
    this.#log(`attached the device of ${r.name} on ${mountpoint}`);
  }

  /**
   * Detaches the device of committed snapshot `id` when no active or view
   * snapshot uses it and no mount does (a container not unmounted yet);
   * else leaves it for a later call. Failures are logged: the caller's
   * change is done.
   */
  async release(id: number): Promise<void> {
    await this.#locks.run(id, async () => {
      const r = this.#store.byId(id);
      if (!r || r.device === null || !this.#devices) return;
      if (r.kind !== "committed") return; // a writable device: its snapshot's own
      if (this.#store.children(id, ["active", "view"]) > 0) return;
      const users = await this.#users(id);
      if (users.length > 0) {
        this.#log(`device of ${r.name} is still used by ${users.join(", ")}; detaching later`);
        return;
      }
      await this.#devices.detach(r.device);
      this.#store.setDevice(id, null);
      this.#log(`detached the device of ${r.name}`);
    }).catch((err) => this.#log(`detach the device of snapshot ${id}: ${(err as Error).message}`));
  }

  /**
   * Removes the overlaybd snapshot `key` with `remove`, after detaching its
   * device, under its lock.
   *
   * @throws {FailedPreconditionError} when it has children or an overlay mount uses its device
   */
  async removeWith(id: number, key: string, remove: () => void): Promise<void> {
    await this.#locks.run(id, async () => {
      const store = this.#store;
      const n = store.children(id);
      const refuse = (why: string, cause?: unknown) =>
        new FailedPreconditionError(`cannot remove snapshot ${JSON.stringify(key)}: ${why}`, {
          cause,
        });
      if (n > 0) throw refuse(`${n} snapshot(s) have it as parent`);
      const users = await this.#users(id);
      if (users.length > 0) throw refuse(`its device is used by ${users.join(", ")}`);
      const device = store.byId(id)?.device ?? null;
      if (device !== null && this.#devices) {
        await this.#devices.detach(device).catch((cause) => {
          throw refuse(`detach its device: ${(cause as Error).message}`, cause);
        });
        store.setDevice(id, null);
      }
      remove();
    });
  }

  /**
   * Detaches the device of snapshot `id` now, whatever its children (the
   * writable device of a snapshot being committed). Call it holding the
   * lock of `id`.
   *
   * @param what the operation, for the error message
   * @throws {FailedPreconditionError} when a mount still uses the device
   */
  async detach(id: number, what: string): Promise<void> {
    const r = this.#store.byId(id);
    if (!r || r.device === null || !this.#devices) return;
    const users = await this.#users(id);
    if (users.length > 0) {
      throw new FailedPreconditionError(`${what}: its device is used by ${users.join(", ")}`);
    }
    await this.#devices.detach(r.device);
    this.#store.setDevice(id, null);
    this.#log(`detached the device of ${r.name}`);
  }
}
