import {
  type Descriptor,
  fetchManifest,
  OCI_LAYER_TAR,
  parseReference,
  pushBlob,
  pushManifest,
  type Repository,
  statBlob,
} from "../registry/mod.ts";
import { NotFoundError } from "../errors.ts";
import { fetchBlobToFile } from "./fetch_blob.ts";
import { type EndpointOptions, openEndpoint } from "./image_source.ts";
import type { DedupTarget } from "./layer_dedup.ts";
import type { BuiltImage } from "../oci/mod.ts";
import {
  moveLayoutBlob,
  parseLayoutRef,
  tagLayoutManifest,
  writeLayoutBlob,
} from "./oci_layout.ts";

/** Where a converted image goes: a registry repository or an OCI layout. */
export interface ImageSink {
  /** The name given, for messages. */
  name: string;
  /** Stores a blob unless it is there (mounted from `mountFrom` when given); says whether bytes were written. */
  putBlob(data: Uint8Array<ArrayBuffer>, digest: string, mountFrom?: string): Promise<boolean>;
  /**
   * {@linkcode putBlob} of the file at `path`, whose digest the caller
   * computed; the file may be moved away (a layout takes it by rename).
   */
  putFile(path: string, digest: string, mountFrom?: string): Promise<boolean>;
  /**
   * Stores the manifest under the sink's tag (by digest only without one or
   * when `untagged`, e.g. a platform manifest of an index). Last step.
   */
  putManifest(
    bytes: Uint8Array<ArrayBuffer>,
    descriptor: Descriptor,
    untagged?: boolean,
  ): Promise<void>;
  /** How dedup reaches the destination registry; unset for a layout (no dedup). */
  dedup?: DedupTarget;
  close(): void;
}

/** Runs `fn` on another repository of the registry of `ref`. */
async function inRepo<T>(
  registry: string,
  repo: string,
  options: EndpointOptions,
  fn: (r: Repository) => Promise<T>,
): Promise<T> {
  const other = openEndpoint(`${registry}/${repo}`, options);
  try {
    return await fn(other);
  } finally {
    other.close();
  }
}

function toRegistry(name: string, options: EndpointOptions): ImageSink {
  const ref = parseReference(name);
  const repo: Repository = openEndpoint(name, options);
  return {
    name,
    async putBlob(data, digest, mountFrom) {
      const pushed = await pushBlob(repo, data, { digest, chunkSize: 16 << 20, mountFrom });
      return pushed.how === "uploaded";
    },
    async putFile(path, digest, mountFrom) {
      if (await statBlob(repo, digest)) return false;
      return await this.putBlob(await Deno.readFile(path), digest, mountFrom);
    },
    async putManifest(bytes, descriptor, untagged) {
      const tag = untagged ? undefined : ref.tag;
      await pushManifest(repo, bytes, { mediaType: descriptor.mediaType, tag });
    },
    dedup: {
      dst: { host: ref.registry, repo: ref.repository },
      hasBlob: (name, digest) =>
        inRepo(ref.registry, name, options, async (r) => (await statBlob(r, digest)) !== undefined),
      fetchBlob: (name, blob, path) =>
        inRepo(
          ref.registry,
          name,
          options,
          (r) => fetchBlobToFile(r, { mediaType: OCI_LAYER_TAR, ...blob }, path),
        ),
      fetchManifest: (digest) =>
        fetchManifest(repo, digest).catch((err) => {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        }),
    },
    close: () => repo.close(),
  };
}

function toLayout(name: string): ImageSink {
  const { dir, ref } = parseLayoutRef(name)!;
  return {
    name,
    async putBlob(data, digest) {
      return (await writeLayoutBlob(dir, data)) === digest;
    },
    putFile: (path, digest) => moveLayoutBlob(dir, path, digest),
    async putManifest(bytes, descriptor, untagged) {
      await writeLayoutBlob(dir, bytes);
      // A platform manifest is reached through its index, not index.json.
      if (untagged) return;
      await tagLayoutManifest(dir, descriptor, ref?.startsWith("sha256:") ? undefined : ref);
    },
    close() {},
  };
}

/** Opens the destination of a conversion: `oci:DIR[:TAG]` or a registry reference. */
export function openImageSink(name: string, options: EndpointOptions = {}): ImageSink {
  return parseLayoutRef(name) ? toLayout(name) : toRegistry(name, options);
}

/** Stores the layer blobs, the config and last the manifest; returns the blobs uploaded. */
export async function storeImage(
  sink: ImageSink,
  files: string[],
  layers: { digest: string; mountFrom?: string }[],
  image: BuiltImage,
  untagged: boolean | undefined,
): Promise<number> {
  let written = 0;
  for (const [i, file] of files.entries()) {
    const { digest, mountFrom } = layers[i];
    if (await sink.putFile(file, digest, mountFrom)) written++;
  }
  if (await sink.putBlob(image.config, image.configDescriptor.digest)) written++;
  await sink.putManifest(image.manifest, image.manifestDescriptor, untagged);
  return written;
}
