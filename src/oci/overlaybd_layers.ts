import { InvalidArgumentError, UnsupportedError } from "../errors.ts";
import type { Descriptor, ImageManifest } from "../registry/mod.ts";
import { ACCELERATION_LAYER, BLOB_DIGEST, BLOB_SIZE, TURBO_OCI_TARGET } from "./labels.ts";

/** One overlaybd layer of an image manifest. */
export interface OverlaybdLayer {
  digest: string;
  size: number;
  /** The top layer carries a prefetch trace (spec §8.6), not filesystem blocks. */
  acceleration: boolean;
}

function layerOf(d: Descriptor, i: number, image: string): OverlaybdLayer {
  const a = d.annotations ?? {};
  if (a[TURBO_OCI_TARGET]) {
    throw new UnsupportedError(
      `${image}: layer ${i} (${d.digest}) is a TurboOCI layer, which is not supported yet`,
    );
  }
  if (!a[BLOB_DIGEST]) {
    throw new InvalidArgumentError(
      `${image} is not an overlaybd image: layer ${i} (${d.digest}) has no ${BLOB_DIGEST} annotation; ` +
        "convert it with 'overlaybd obdconv'",
    );
  }
  const size = Number(a[BLOB_SIZE] ?? d.size);
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new InvalidArgumentError(`${image}: layer ${i} has a bad ${BLOB_SIZE} '${a[BLOB_SIZE]}'`);
  }
  return { digest: a[BLOB_DIGEST], size, acceleration: a[ACCELERATION_LAYER] === "yes" };
}

/**
 * The overlaybd layers of `manifest`, bottom first (spec §7.2: each layer
 * descriptor carries the blob digest and size annotations).
 *
 * @param image names the image in errors
 * @throws {InvalidArgumentError} when a layer is a plain OCI layer
 * @throws {UnsupportedError} for TurboOCI layers
 */
export function overlaybdLayers(manifest: ImageManifest, image: string): OverlaybdLayer[] {
  if (manifest.layers.length === 0) throw new InvalidArgumentError(`${image} has no layers`);
  return manifest.layers.map((d, i) => layerOf(d, i, image));
}
