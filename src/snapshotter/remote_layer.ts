import type { DeviceConfig } from "../config/mod.ts";
import { InvalidArgumentError, UnsupportedError } from "../errors.ts";
import { repoBlobUrlOf } from "../mount/mod.ts";
import { labels as obd } from "../oci/mod.ts";
import { endpointHost, parseReference } from "../registry/mod.ts";
import type { MirrorRegistry } from "./config.ts";
import { CRI_IMAGE_REF, DOWNLOAD_REMOTE_BLOB, IMAGE_REF, TARGET_SNAPSHOT_REF } from "./labels.ts";

/** An overlaybd layer that a pull asks for, read lazily from its registry. */
export interface RemoteLayer {
  /** The chain ID to commit to. */
  target: string;
  digest: string;
  size: number;
  /** Image reference the layer belongs to. */
  imageRef: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The remote overlaybd layer a Prepare's labels describe (spec §10.3, case
 * 1: `snapshot.ref`, blob digest and size, and an image reference), or
 * undefined when the Prepare is not the pull of a lazily read layer — a
 * plain OCI layer, or an overlaybd layer to download (`download-remote-blob`,
 * or no image reference), which containerd then unpacks itself.
 *
 * @throws {InvalidArgumentError} for a malformed blob digest or size
 * @throws {UnsupportedError} for TurboOCI layers
 */
export function remoteLayerOf(labels: Record<string, string>): RemoteLayer | undefined {
  const target = labels[TARGET_SNAPSHOT_REF];
  const digest = labels[obd.BLOB_DIGEST];
  const imageRef = labels[IMAGE_REF] || labels[CRI_IMAGE_REF];
  if (!target || !digest || !labels[obd.BLOB_SIZE] || !imageRef) return undefined;
  if (labels[DOWNLOAD_REMOTE_BLOB] === "download") return undefined;
  // Spec §8.6: the acceleration (trace) layer is unpacked, never read lazily.
  if (labels[obd.ACCELERATION_LAYER] === "yes") return undefined;
  if (labels[obd.TURBO_OCI_TARGET]) {
    throw new UnsupportedError(
      `layer ${digest} of ${imageRef} is a TurboOCI layer, not supported yet`,
    );
  }
  if (!DIGEST.test(digest)) {
    throw new InvalidArgumentError(`label ${obd.BLOB_DIGEST} '${digest}' is not sha256:<64 hex>`);
  }
  const size = Number(labels[obd.BLOB_SIZE]);
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new InvalidArgumentError(
      `label ${obd.BLOB_SIZE} '${labels[obd.BLOB_SIZE]}' is not a size`,
    );
  }
  return { target, digest, size, imageRef };
}

/**
 * `repoBlobUrl` of an image reference (spec §5.1): `https://HOST/v2/REPO/blobs`,
 * `http://` when `mirrors` lists the host as insecure; `docker.io` is served
 * by `registry-1.docker.io`.
 *
 * @throws {InvalidArgumentError} for a malformed reference
 */
export function repoBlobUrlFor(imageRef: string, mirrors: readonly MirrorRegistry[]): string {
  const ref = parseReference(imageRef);
  const hosts = [ref.registry, endpointHost(ref.registry)];
  const insecure = mirrors.some((m) => m.insecure && hosts.includes(m.host));
  return repoBlobUrlOf(ref, insecure);
}

/**
 * The device config of a remote layer: the parent's lowers, then this layer
 * (its blob read from `repoBlobUrl`, its directory `dir`).
 */
export function remoteLayerConfig(
  parent: DeviceConfig | undefined,
  layer: RemoteLayer,
  repoBlobUrl: string,
  dir: string,
  resultFile: string,
): DeviceConfig {
  const lowers = [...(parent?.lowers ?? []), { digest: layer.digest, size: layer.size, dir }];
  return { repoBlobUrl, lowers, upper: {}, resultFile };
}
