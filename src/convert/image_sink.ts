import {
  type Descriptor,
  parseReference,
  pushBlob,
  pushManifest,
  type Repository,
} from "../registry/mod.ts";
import { type EndpointOptions, openEndpoint } from "./image_source.ts";
import { parseLayoutRef, tagLayoutManifest, writeLayoutBlob } from "./oci_layout.ts";

/** Where a converted image goes: a registry repository or an OCI layout. */
export interface ImageSink {
  /** The name given, for messages. */
  name: string;
  /** Stores a blob unless it is there; says whether bytes were written. */
  putBlob(data: Uint8Array<ArrayBuffer>, digest: string): Promise<boolean>;
  /** Stores the manifest under the sink's tag (by digest only without one). Last step. */
  putManifest(bytes: Uint8Array<ArrayBuffer>, descriptor: Descriptor): Promise<void>;
  close(): void;
}

function toRegistry(name: string, options: EndpointOptions): ImageSink {
  const ref = parseReference(name);
  const repo: Repository = openEndpoint(name, options);
  return {
    name,
    async putBlob(data, digest) {
      return (await pushBlob(repo, data, { digest, chunkSize: 16 << 20 })).how !== "exists";
    },
    async putManifest(bytes, descriptor) {
      await pushManifest(repo, bytes, { mediaType: descriptor.mediaType, tag: ref.tag });
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
    async putManifest(bytes, descriptor) {
      await writeLayoutBlob(dir, bytes);
      await tagLayoutManifest(dir, descriptor, ref?.startsWith("sha256:") ? undefined : ref);
    },
    close() {},
  };
}

/** Opens the destination of a conversion: `oci:DIR[:TAG]` or a registry reference. */
export function openImageSink(name: string, options: EndpointOptions = {}): ImageSink {
  return parseLayoutRef(name) ? toLayout(name) : toRegistry(name, options);
}
