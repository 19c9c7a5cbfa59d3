/**
 * Media types of the manifests and blobs this program reads and writes
 * (spec §7.1), and the JSON shapes of manifests and indexes.
 *
 * @module
 */

/** Docker image manifest, schema 2 (upstream convertor's default). */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list (multi-arch). */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** OCI image manifest (`--oci`, forced by `--referrer`). */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index (multi-arch, referrers list). */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** Native overlaybd layer, Docker flavour (an uncompressed "tar"). */
export const DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";
/** Native overlaybd layer, OCI flavour. */
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
/** gzip layer (and the TurboOCI meta layer), Docker flavour. */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** gzip layer (and the TurboOCI meta layer), OCI flavour. */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** Referrers `artifactType` of a native overlaybd conversion (spec §7.1). */
export const OVERLAYBD_NATIVE_ARTIFACT = "application/vnd.containerd.overlaybd.native.v1+json";
/** Referrers `artifactType` of a TurboOCI conversion (spec §7.1). */
export const OVERLAYBD_TURBO_ARTIFACT = "application/vnd.containerd.overlaybd.turbo.v1+json";

/** Media types of single-image manifests. */
export const MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];
/** Media types of multi-platform indexes. */
export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];
/** `Accept` header of a manifest GET: every manifest and index type. */
export const MANIFEST_ACCEPT = [...MANIFEST_TYPES, ...INDEX_TYPES].join(", ");

/** An OS/architecture pair (plus variant) as in an index entry. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** A content descriptor: what a manifest or index says about another object. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  urls?: string[];
}

/** An image manifest (OCI or Docker schema 2). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image index or Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}
