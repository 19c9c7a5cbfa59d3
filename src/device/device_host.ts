import { FuseFrontend } from "../../ffi/frontend_fuse.ts";
import type { Image } from "../../ffi/image.ts";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../errors.ts";
import { attachLoop, detachLoop } from "./loop.ts";
import { mountpointsOf } from "./mount.ts";

/**
 * Read-ahead of each loop device, KiB. The kernel's 128 KiB turns a
 * sequential read into many small FUSE round trips; larger values were
 * measured with bench/device_read.ts (see docs/benchmarks.md).
 */
export const DEFAULT_READ_AHEAD_KB = 1024;

/** Options of {@linkcode openDeviceHost}. */
export interface DeviceHostOptions {
  /** Directory the FUSE filesystem is mounted on; created when missing. */
  fuseDir: string;
  /** Read-ahead of each loop device in KiB; default {@linkcode DEFAULT_READ_AHEAD_KB}. */
  readAheadKb?: number;
}

/** Options of {@linkcode DeviceHost.attach}. */
export interface AttachOptions {
  /** A read-only file and loop device; writes need an image with a writable layer. */
  readOnly: boolean;
}

/** An image served as a block device. */
export interface Device {
  name: string;
  /** The image's file in the FUSE directory. */
  file: string;
  /** `/dev/loopN` attached to `file`. */
  loopDevice: string;
  readOnly: boolean;
  /** Whether the loop device kept direct I/O on (it should). */
  directIo: boolean;
}

/**
 * The owner of one FUSE session and of the loop devices attached to its
 * files. Each device is an {@linkcode Image} published as `<fuseDir>/<name>`
 * and a loop device (direct I/O on) on that file, ready for `mount`.
 *
 * Lifecycle: `attach` takes ownership of the image (also when it fails);
 * `detach` releases the loop device, withdraws the file once no request
 * uses it, and closes the image; `close` detaches everything and unmounts
 * the FUSE directory. Unmount filesystems from a device before detaching it.
 *
 * @example
 * ```ts ignore
 * const host = await openDeviceHost({ fuseDir: "/run/overlaybd/fuse" });
 * const dev = await host.attach("hello", Image.open([openLayer(blob)]), { readOnly: true });
 * await mountExt4(dev.loopDevice, "/mnt/hello", { readOnly: true });
 * // ... read /mnt/hello ...
 * await unmount("/mnt/hello");
 * await host.close();
 * ```
 */
export interface DeviceHost {
  /** The FUSE mountpoint holding one file per device. */
  readonly fuseDir: string;
  /**
   * Serves `image` as the device `name` and attaches a loop device to it.
   *
   * @throws {AlreadyExistsError} when `name` is attached already
   * @throws {InvalidArgumentError} for a name that cannot be a file name
   * @throws {UnavailableError} when losetup fails (the file is withdrawn again)
   */
  attach(name: string, image: Image, options: AttachOptions): Promise<Device>;
  /**
   * Detaches the loop device, withdraws the file and closes the image.
   *
   * @throws {NotFoundError} when `name` is not attached
   * @throws {FailedPreconditionError} when the loop device is still mounted
   */
  detach(name: string): Promise<void>;
  /** The attached devices. */
  devices(): Device[];
  /** Detaches every device and unmounts the FUSE directory; idempotent. */
  close(): Promise<void>;
}

interface Slot {
  image: Image;
  device?: Device; // absent while attaching
}

class FuseDeviceHost implements DeviceHost {
  readonly #frontend: FuseFrontend;
  readonly #readAheadKb: number;
  readonly #slots = new Map<string, Slot>();
  #closed?: Promise<void>;

  constructor(frontend: FuseFrontend, readAheadKb: number) {
    this.#frontend = frontend;
    this.#readAheadKb = readAheadKb;
  }

  get fuseDir(): string {
    return this.#frontend.mountpoint;
  }

  async attach(name: string, image: Image, options: AttachOptions): Promise<Device> {
    if (this.#closed) {
      image.close();
      throw new FailedPreconditionError(`attach ${name}: device host on ${this.fuseDir} is closed`);
    }
    if (this.#slots.has(name)) {
      image.close();
      throw new AlreadyExistsError(`attach ${name}: already attached under ${this.fuseDir}`);
    }
    const slot: Slot = { image };
    this.#slots.set(name, slot);
    let file: string | undefined;
    try {
      file = this.#frontend.add(name, image, { writable: !options.readOnly });
      const loop = await attachLoop(file, {
        readOnly: options.readOnly,
        readAheadKb: this.#readAheadKb,
      });
      const { device: loopDevice, directIo } = loop;
      slot.device = { name, file, loopDevice, readOnly: options.readOnly, directIo };
      return slot.device;
    } catch (err) {
      this.#slots.delete(name);
      if (file !== undefined) await this.#frontend.remove(name).catch(() => {});
      image.close();
      throw err;
    }
  }

  async detach(name: string): Promise<void> {
    const slot = this.#slots.get(name);
    if (!slot?.device) {
      throw new NotFoundError(`detach ${name}: not attached under ${this.fuseDir}`);
    }
    const { loopDevice } = slot.device;
    const mounted = await mountpointsOf(loopDevice);
    if (mounted.length > 0) {
      throw new FailedPreconditionError(
        `detach ${name}: ${loopDevice} is still mounted on ${mounted.join(", ")}`,
      );
    }
    await detachLoop(loopDevice);
    this.#slots.delete(name);
    // The loop device has let go of the file; requests may still be in flight.
    await this.#frontend.remove(name);
    slot.image.close();
  }

  devices(): Device[] {
    return [...this.#slots.values()].flatMap((s) => s.device ? [s.device] : []);
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    let first: unknown;
    for (const name of [...this.#slots.keys()]) {
      await this.detach(name).catch((err) => first ??= err);
    }
    // Stopping with a device still attached unmounts lazily; its reads then fail.
    await this.#frontend.stop().catch((err) => first ??= err);
    for (const slot of this.#slots.values()) slot.image.close();
    this.#slots.clear();
    if (first !== undefined) throw first;
  }
}

/**
 * Mounts a FUSE directory at `options.fuseDir` and returns the host of the
 * devices served from it.
 *
 * @throws {UnavailableError} when FUSE cannot be mounted (no /dev/fuse, not root)
 */
export async function openDeviceHost(options: DeviceHostOptions): Promise<DeviceHost> {
  await Deno.mkdir(options.fuseDir, { recursive: true });
  const frontend = FuseFrontend.start(options.fuseDir);
  return new FuseDeviceHost(frontend, options.readAheadKb ?? DEFAULT_READ_AHEAD_KB);
}
