import { FailedPreconditionError } from "../errors.ts";
import { cachedBytes } from "./cached_bytes.ts";
import { checkSampleFiles } from "./check_files.ts";
import { mountLazily } from "./lazy_mount.ts";
import type { SampleImage } from "./sample_image.ts";
import { amount, type DemoSteps } from "./steps.ts";

/** What reading the image through a lazy mount showed. */
export interface LazyRead {
  /** Files read back with the right sha256. */
  filesChecked: number;
  /** Bytes fetched from the registry for the mount and the reads. */
  fetched: number;
}

/**
 * Mounts the conversion `image` of `sample` (`imageBytes` bytes of layers)
 * lazily, as `overlaybd mount` does, with everything in `dir`; reads its
 * files back through the kernel ({@linkcode checkSampleFiles}) and unmounts
 * it: two steps.
 *
 * @throws {CorruptDataError} when a file differs
 * @throws {FailedPreconditionError} when the reads fetched the whole image
 */
export async function readLazily(
  dir: string,
  image: string,
  sample: SampleImage,
  imageBytes: number,
  { step, teardown }: DemoSteps,
): Promise<LazyRead> {
  const mount = await step(
    async () => {
      const m = await mountLazily(dir, image);
      teardown.defer("lazy mount", () => m.unmount());
      return m;
    },
    (m) => `mounted ${image} lazily on ${m.dir} (${m.loopDevice}) as overlaybd mount does`,
  );
  return await step(
    async () => {
      try {
        const filesChecked = await checkSampleFiles(mount.dir, sample);
        const fetched = await cachedBytes(mount.cacheDir);
        if (fetched >= imageBytes) {
          throw new FailedPreconditionError(
            `not lazy: the mount fetched ${fetched} of ${imageBytes} bytes`,
          );
        }
        return { filesChecked, fetched };
      } finally {
        await mount.unmount();
      }
    },
    (r) =>
      `read ${r.filesChecked} files through the kernel (sha256 match), ${sample.removed} ` +
      `whited out, ${sample.dataFile.path} not read: fetched ${amount(r.fetched)} of the ` +
      `${amount(imageBytes)} image; unmounted`,
  );
}
