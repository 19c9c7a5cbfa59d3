import type { BlobCache, RemoteBlobSource } from "../cache/mod.ts";
import type { DeviceConfig, GlobalConfig } from "../config/mod.ts";
import { type DeviceHost, mountImage, unmountImage } from "../device/mod.ts";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import { type DevicePrefetch, type PrefetchStatus, startDevicePrefetch } from "../trace/mod.ts";
import { deviceConfigFor } from "./image_source.ts";
import { removeState, writeState } from "./mount_state.ts";
import { backgroundDownload, type DownloadStatus } from "./background_download.ts";
import { openDeviceImage, type RemoteLower } from "./open_device_image.ts";
import { RegistryPool, type RegistryPoolOptions } from "./registry_pool.ts";

/** What `overlaybd mount` asks for. */
export interface MountRequest extends RegistryPoolOptions {
  /** A `config.v1.json` path or an image reference. */
  source: string;
  /** Existing directory to mount on. */
  dir: string;
  /** Platform to pick from a multi-arch image (`os/arch[/variant]`). */
  platform?: string;
  /**
   * Attach the device but leave its filesystem unmounted: whoever uses the
   * loop device mounts it (the snapshotter's `rwMode` `dev`). `dir` still
   * names the device.
   */
  attachOnly?: boolean;
}

/** A mounted device, as `overlaybd mount` reports it. */
export interface MountInfo {
  /** Background download of remote layers, when enabled (spec §5.4). */
  downloads?: DownloadStatus[];
  dir: string;
  source: string;
  device: string;
  loopDevice: string;
  readOnly: boolean;
  layers: number;
  /** Trace recording, trace replay or list prefetch (spec §8), when the device does one. */
  prefetch?: PrefetchStatus;
  /** Bytes this mount fetched from registries so far (demand reads, prefetch, download). */
  bytesFetched?: number;
}

interface Mounted {
  info: MountInfo;
  pool: RegistryPool;
  prefetch: DevicePrefetch;
  /** Stops the background download; resolves when it has. Replaced when it starts late. */
  stopDownload: () => Promise<void>;
  /** Set once unmounting began: a recording that ends then starts no download. */
  closing: boolean;
  /** Attached without mounting its filesystem. */
  attachOnly: boolean;
}

/** What a {@linkcode DeviceService} runs on; the caller owns all of it. */
export interface DeviceServiceParts {
  global: GlobalConfig;
  host: DeviceHost;
  cache: BlobCache;
  source: RemoteBlobSource;
  runDir: string;
  log: (line: string) => void;
}

async function resolveDir(dir: string): Promise<string> {
  let real: string;
  try {
    real = await Deno.realPath(dir);
  } catch (cause) {
    throw new NotFoundError(`mount point ${dir} does not exist: create it first`, { cause });
  }
  if (!(await Deno.stat(real)).isDirectory) {
    throw new InvalidArgumentError(`mount point ${dir} is not a directory`);
  }
  return real;
}

/** Writes upstream's `resultFile` (spec §5.1): `success` or `failed:<reason>`. */
async function writeResult(path: string, text: string): Promise<void> {
  if (path) await Deno.writeTextFile(path, text).catch(() => {/* informational only */});
}

/**
 * Mounts overlaybd images on directories: device config (from a file or an
 * image in a registry) → image (local lowers, or remote ones read lazily
 * through the shared blob cache) → FUSE file + loop device → ext4 mount.
 * Each mount is recorded in the run directory for `overlaybd umount`.
 */
export class DeviceService {
  readonly #parts: DeviceServiceParts;
  readonly #mounts = new Map<string, Mounted>();
  #next = 0;

  constructor(parts: DeviceServiceParts) {
    this.#parts = parts;
  }

  /** Mounts `request.source` on `request.dir`. */
  async mount(request: MountRequest): Promise<MountInfo> {
    const { global, host, cache, source, runDir, log } = this.#parts;
    const dir = await resolveDir(request.dir);
    if (this.#mounts.has(dir)) throw new AlreadyExistsError(`${dir} is already an overlaybd mount`);
    const pool = new RegistryPool({
      ...request,
      credentialFile: global.credentialConfig.mode === "file"
        ? global.credentialConfig.path
        : undefined,
    });
    let resultFile = "";
    try {
      const config = await deviceConfigFor(request.source, pool, request);
      resultFile = config.resultFile;
      const opened = await openDeviceImage(config, {
        cache,
        source,
        fetcherFor: (url) => pool.fetcherFor(url),
        sizeOf: (url, digest) => pool.sizeOf(url, digest),
      });
      const { image, remotes, recorder } = opened;
      if (opened.prefetchSkipped) log(`prefetch: ${opened.prefetchSkipped}; not prefetching`);
      const readOnly = !(config.upper.data && config.upper.index);
      const name = `dev${this.#next++}`;
      let device;
      try {
        device = request.attachOnly
          ? await host.attach(name, image, { readOnly })
          : await mountImage(host, name, image, dir, { readOnly });
      } catch (err) {
        recorder?.close();
        throw err;
      }
      const info: MountInfo = {
        dir,
        source: request.source,
        device: device.file,
        loopDevice: device.loopDevice,
        readOnly,
        layers: config.lowers.length - (config.accelerationLayer ? 1 : 0),
      };
      const mounted: Mounted = {
        info,
        pool,
        prefetch: { status: () => undefined, settled: async () => {}, close: async () => {} },
        stopDownload: () => Promise.resolve(),
        closing: false,
        attachOnly: request.attachOnly === true,
      };
      this.#mounts.set(dir, mounted);
      // Spec §8.1: no background download while a trace is being recorded.
      const startDownload = () => {
        if (!mounted.closing) mounted.stopDownload = this.#download(config, remotes, pool, info);
      };
      try {
        mounted.prefetch = await startDevicePrefetch(opened.prefetch, image, {
          concurrency: global.prefetchConfig.concurrency,
          recorder,
          log: (line) => log(`${dir}: ${line}`),
          onRecordingEnd: startDownload,
        });
      } catch (err) {
        // Prefetch only makes the device faster: it stays mounted without.
        recorder?.close();
        log(`${dir}: prefetch: ${(err as Error).message}; not prefetching`);
      }
      if (opened.prefetch.kind !== "record" || !mounted.prefetch.status()) startDownload();
      await writeState(runDir, {
        dir,
        pid: Deno.pid,
        source: request.source,
        fuseDir: host.fuseDir,
        loopDevice: device.loopDevice,
      });
      await writeResult(resultFile, "success");
      log(
        `mounted ${request.source} on ${dir} (${device.loopDevice}, ${config.lowers.length} layers)`,
      );
      return info;
    } catch (err) {
      pool.close();
      await writeResult(resultFile, `failed:${(err as Error).message}`);
      throw err;
    }
  }

  /**
   * Unmounts the filesystem on `dir` and releases its device.
   *
   * @throws {NotFoundError} when `dir` is not mounted by this service
   */
  async unmount(dir: string): Promise<void> {
    const real = await Deno.realPath(dir).catch(() => dir);
    const m = this.#mounts.get(real);
    if (!m) throw new NotFoundError(`${dir} is not an overlaybd mount`);
    const name = m.info.device.split("/").pop()!;
    m.closing = true;
    // Before the image closes: a replay reads it, a recording dumps its trace.
    await m.prefetch.close();
    await m.stopDownload();
    if (m.attachOnly) await this.#parts.host.detach(name);
    else await unmountImage(this.#parts.host, name, real);
    this.#mounts.delete(real);
    m.pool.close();
    await removeState(this.#parts.runDir, real);
    this.#parts.log(`unmounted ${real}`);
  }

  /** Starts the background download of `remotes` when enabled; returns its stopper. */
  #download(
    config: DeviceConfig,
    remotes: RemoteLower[],
    pool: RegistryPool,
    info: MountInfo,
  ): () => Promise<void> {
    const settings = config.download ?? this.#parts.global.download;
    if (!settings.enable || remotes.length === 0) return () => Promise.resolve();
    const { cache, source, log } = this.#parts;
    info.downloads = remotes.map((r) => ({ digest: r.digest, state: "waiting", bytes: 0 }));
    const abort = new AbortController();
    const targets = remotes.map((r) => ({
      ...r,
      open: () =>
        cache.openBlob({
          source,
          digest: r.digest,
          size: r.size,
          fetchRange: pool.fetcherFor(r.repoBlobUrl),
        }),
    }));
    const done = backgroundDownload(targets, settings, info.downloads, abort.signal, log);
    return async () => {
      abort.abort();
      await done;
    };
  }

  /** The current mounts, with their fetch and prefetch counters as of now. */
  list(): MountInfo[] {
    return [...this.#mounts.values()].map((m) => {
      const prefetch = m.prefetch.status();
      const info = { ...m.info, bytesFetched: m.pool.bytesFetched() };
      return prefetch ? { ...info, prefetch } : info;
    });
  }

  /**
   * Resolves once the prefetch of the mount on `dir` has settled: its replay
   * finished, or its recording ended and the trace is written.
   *
   * @throws {NotFoundError} when `dir` is not mounted by this service
   */
  async prefetchSettled(dir: string): Promise<void> {
    const real = await Deno.realPath(dir).catch(() => dir);
    const m = this.#mounts.get(real);
    if (!m) throw new NotFoundError(`${dir} is not an overlaybd mount`);
    await m.prefetch.settled();
  }

  /** Bytes fetched from registries by the current mounts. */
  bytesFetched(): number {
    let n = 0;
    for (const m of this.#mounts.values()) n += m.pool.bytesFetched();
    return n;
  }

  /** Unmounts everything; errors are logged, not thrown, so every mount gets its turn. */
  async close(): Promise<void> {
    for (const dir of [...this.#mounts.keys()]) {
      await this.unmount(dir).catch((err) => this.#parts.log(`unmount ${dir}: ${err.message}`));
    }
  }
}
