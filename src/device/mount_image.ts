import type { Image } from "../../ffi/image.ts";
import type { AttachOptions, Device, DeviceHost } from "./device_host.ts";
import { mountExt4, unmount } from "./mount.ts";

/**
 * Attaches `image` as device `name` and mounts its ext4 filesystem on `dir`
 * (read-only without journal replay when `options.readOnly`). When the
 * mount fails the device is detached again, so nothing is left behind.
 *
 * @throws {UnavailableError} when attaching or mounting fails
 */
export async function mountImage(
  host: DeviceHost,
  name: string,
  image: Image,
  dir: string,
  options: AttachOptions,
): Promise<Device> {
  const device = await host.attach(name, image, options);
  try {
    await mountExt4(device.loopDevice, dir, options);
  } catch (err) {
    await host.detach(name).catch(() => {/* the mount error is the one to report */});
    throw err;
  }
  return device;
}

/** Unmounts `dir` and detaches the device `name` mounted there by {@linkcode mountImage}. */
export async function unmountImage(host: DeviceHost, name: string, dir: string): Promise<void> {
  await unmount(dir);
  await host.detach(name);
}
