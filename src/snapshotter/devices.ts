import { type CacheStats, openBlobCache, openRemoteBlobSource } from "../cache/mod.ts";
import type { GlobalConfig } from "../config/mod.ts";
import {
  loopBackingFile,
  mountAt,
  type MountEntry,
  openDeviceHost,
  readMountTable,
  unmount,
} from "../device/mod.ts";
import { FailedPreconditionError, UnavailableError } from "../errors.ts";
import { DeviceService, forceUnmount, readState } from "../mount/mod.ts";

/** Options of {@linkcode SnapshotDevices.attach}. */
export interface AttachDeviceOptions {
  /**
   * Mount the device's filesystem on the mountpoint (default). When false
   * the loop device is left for its user to mount
   * ({@linkcode SnapshotDevices.loopDevice} names it).
   */
  mount?: boolean;
}

/**
 * The devices behind overlaybd snapshots: each is described by a
 * `config.v1.json` and its filesystem is mounted on a directory, read-only
 * unless the config has a writable upper. The snapshotter names a device by
 * that directory, also when it leaves the filesystem unmounted.
 */
export interface SnapshotDevices {
  /**
   * Attaches the device described by configPath and mounts its filesystem
   * on mountpoint (unless `options.mount` is false). Attaching what this
   * object attached already is a no-op; a stale mount left on mountpoint is
   * cleared first.
   */
  attach(configPath: string, mountpoint: string, options?: AttachDeviceOptions): Promise<void>;
  /** The loop device of the device named by mountpoint, when this object attached it. */
  loopDevice(mountpoint: string): string | undefined;
  /**
   * Unmounts mountpoint and releases its device; nothing mounted is fine.
   *
   * @throws {UnavailableError} when the filesystem is busy (an overlay still uses it)
   */
  detach(mountpoint: string): Promise<void>;
  /**
   * After a restart: whether the device mounted on mountpoint still works.
   * A stale mount (its serving process died) is unmounted lazily, so that
   * mountpoint can be attached again, and its loop device released once
   * nothing holds it; the answer is then false.
   */
  recover(mountpoint: string): Promise<boolean>;
  /** Bytes fetched from registries since the devices were opened. */
  bytesFetched(): number;
  /** Page counters of the blob cache since the devices were opened. */
  cacheStats(): CacheStats;
  /** Unmounts and detaches everything this object attached; idempotent. */
  close(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<boolean> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
  return out.success;
}

/** Whether the filesystem of `m` still answers: its loop device's file and its root readable. */
async function healthy(m: MountEntry): Promise<boolean> {
  try {
    if (/^\/dev\/loop\d+$/.test(m.source)) {
      const file = await loopBackingFile(m.source);
      if (file === undefined) return false;
      await Deno.stat(file.replace(/ \(deleted\)$/, ""));
    }
    for await (const _ of Deno.readDir(m.mountpoint)) break;
    return true;
  } catch {
    return false; // ENOTCONN from a FUSE file whose daemon is gone, EIO from the filesystem
  }
}

/** A mount on `dir` not made by this process: unmount it, then free its loop device and state. */
async function release(runDir: string, dir: string, m: MountEntry, lazy: boolean): Promise<void> {
  if (lazy) await run("umount", ["-l", dir]);
  else await unmount(dir);
  const loopDevice = /^\/dev\/loop\d+$/.test(m.source) ? m.source : "";
  await forceUnmount(runDir, { dir, pid: 0, source: "", fuseDir: "", loopDevice });
}

/**
 * A device of a dead process that had no filesystem mounted on mountpoint
 * (attached for its user to mount): its loop device is freed unless
 * something still mounts it, and its state forgotten. The loop device named
 * by the state file is only touched while it still reads that process's
 * FUSE directory, so a number reused since is left alone.
 */
async function forgetUnmounted(runDir: string, mountpoint: string): Promise<void> {
  const dir = await Deno.realPath(mountpoint).catch(() => mountpoint);
  const state = await readState(runDir, dir).catch(() => undefined);
  let loopDevice = "";
  if (state?.loopDevice && state.fuseDir) {
    const file = await loopBackingFile(state.loopDevice).catch(() => undefined);
    if (file?.startsWith(`${state.fuseDir}/`)) loopDevice = state.loopDevice;
  }
  await forceUnmount(runDir, { dir, pid: 0, source: "", fuseDir: "", loopDevice });
}

/** A FUSE directory left by a dead process is unmounted lazily; a live one is refused. */
async function clearFuseDir(fuseDir: string): Promise<void> {
  const m = mountAt(await readMountTable(), fuseDir);
  if (!m) return;
  if (await healthy(m)) {
    throw new FailedPreconditionError(
      `device directory ${fuseDir} is served by a running process; stop it or use another run directory`,
    );
  }
  await run("umount", ["-l", fuseDir]);
}

/** Totals of the data plane behind the devices, kept across attach and detach. */
interface DeviceCounters {
  bytesFetched(): number;
  cache(): CacheStats;
}

class ServiceDevices implements SnapshotDevices {
  readonly #service: DeviceService;
  readonly #runDir: string;
  readonly #close: () => Promise<void>;
  readonly #counters: DeviceCounters;
  /** Mountpoint → loop device of what this object attached. */
  readonly #mine = new Map<string, string>();
  #closed?: Promise<void>;

  constructor(
    service: DeviceService,
    runDir: string,
    counters: DeviceCounters,
    close: () => Promise<void>,
  ) {
    this.#service = service;
    this.#runDir = runDir;
    this.#counters = counters;
    this.#close = close;
  }

  async attach(
    configPath: string,
    mountpoint: string,
    options: AttachDeviceOptions = {},
  ): Promise<void> {
    if (this.#closed) throw new UnavailableError(`attach ${mountpoint}: devices are closed`);
    if (this.#mine.has(mountpoint)) return;
    const stale = mountAt(await readMountTable(), mountpoint);
    if (stale) await release(this.#runDir, mountpoint, stale, true);
    const info = await this.#service.mount({
      source: configPath,
      dir: mountpoint,
      attachOnly: options.mount === false,
    });
    this.#mine.set(mountpoint, info.loopDevice);
  }

  loopDevice(mountpoint: string): string | undefined {
    return this.#mine.get(mountpoint);
  }

  async detach(mountpoint: string): Promise<void> {
    if (this.#mine.has(mountpoint)) {
      await this.#service.unmount(mountpoint);
      this.#mine.delete(mountpoint);
      return;
    }
    const m = mountAt(await readMountTable(), mountpoint);
    if (m) await release(this.#runDir, mountpoint, m, false);
  }

  async recover(mountpoint: string): Promise<boolean> {
    if (this.#mine.has(mountpoint)) return true;
    const m = mountAt(await readMountTable(), mountpoint);
    if (m && await healthy(m)) return true;
    if (m) await release(this.#runDir, mountpoint, m, true);
    else await forgetUnmounted(this.#runDir, mountpoint);
    return false;
  }

  bytesFetched(): number {
    return this.#counters.bytesFetched();
  }

  cacheStats(): CacheStats {
    return this.#counters.cache();
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }
}

/**
 * Opens the devices of a snapshotter the way `overlaybd mountd` builds its
 * own: a blob cache from `global.cacheConfig`, the fetch bridge, one FUSE
 * directory at `<runDir>/fuse` (a stale one from a dead process is
 * unmounted lazily first) and a {@linkcode DeviceService} keeping mount
 * state under `runDir`.
 *
 * @throws {FailedPreconditionError} when another live process serves `<runDir>/fuse`
 * @throws {UnavailableError} when FUSE cannot be mounted (not root, no /dev/fuse)
 */
export async function openSnapshotDevices(
  global: GlobalConfig,
  runDir: string,
  log: (line: string) => void,
): Promise<SnapshotDevices> {
  const fuseDir = `${runDir}/fuse`;
  await Deno.mkdir(runDir, { recursive: true });
  await clearFuseDir(fuseDir);
  const source = openRemoteBlobSource();
  const cache = openBlobCache(global.cacheConfig);
  let host;
  try {
    host = await openDeviceHost({ fuseDir });
  } catch (err) {
    cache.close();
    await source.close();
    throw err;
  }
  const service = new DeviceService({ global, host, cache, source, runDir, log });
  const counters = { bytesFetched: () => source.stats().bytesFetched, cache: () => cache.stats() };
  return new ServiceDevices(service, runDir, counters, async () => {
    await service.close();
    await host.close().catch((err) => log(`close devices: ${(err as Error).message}`));
    cache.close();
    await source.close();
  });
}
