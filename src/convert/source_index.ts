import {
  type Descriptor,
  fetchManifest,
  type ImageIndex,
  isIndex,
  parseReference,
} from "../registry/mod.ts";
import { type EndpointOptions, openEndpoint } from "./image_source.ts";
import { findLayoutEntry, parseJson, readLayoutBlob } from "./layout_image.ts";
import { parseLayoutRef } from "./oci_layout.ts";

/** Annotation that marks a BuildKit attestation in an index. */
const REFERENCE_TYPE = "vnd.docker.reference.type";

/** A multi-platform source: its index and the entries to convert. */
export interface SourceIndex {
  descriptor: Descriptor;
  index: ImageIndex;
  /** Image entries with a platform, attestation manifests left out. */
  images: Descriptor[];
}

/** The entries of an index that are images of a platform. */
function imageEntries(index: ImageIndex): Descriptor[] {
  return index.manifests.filter((d) =>
    d.platform !== undefined && !isIndex(d.mediaType) &&
    d.annotations?.[REFERENCE_TYPE] !== "attestation-manifest"
  );
}

/**
 * The index `name` names — a registry reference or `oci:DIR[:TAG]` — or
 * undefined when it names a single image.
 *
 * @throws {NotFoundError} for an unknown tag or digest
 * @throws {UnavailableError} when the registry cannot be reached
 */
export async function readSourceIndex(
  name: string,
  options: EndpointOptions = {},
): Promise<SourceIndex | undefined> {
  const layout = parseLayoutRef(name);
  if (layout) {
    const entry = await findLayoutEntry(layout.dir, layout.ref);
    if (!isIndex(entry.mediaType)) return undefined;
    const index = parseJson<ImageIndex>(
      await readLayoutBlob(layout.dir, entry.digest, name),
      `index ${name}`,
    );
    return { descriptor: entry, index, images: imageEntries(index) };
  }
  const ref = parseReference(name);
  const repo = openEndpoint(name, options);
  try {
    const top = await fetchManifest(repo, ref.digest ?? ref.tag ?? "latest");
    if (!isIndex(top.descriptor.mediaType)) return undefined;
    const index = top.content as ImageIndex;
    return { descriptor: top.descriptor, index, images: imageEntries(index) };
  } finally {
    repo.close();
  }
}
