/**
 * Test helper: pushes an OCI image layout into a registry with the client's
 * own push functions, tags included (`org.opencontainers.image.ref.name`).
 *
 * @module
 */
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndex,
  pushBlob,
  pushManifest,
  type Repository,
} from "../../src/registry/mod.ts";
import { vector } from "../_helpers.ts";

/** The layout of upstream's hello-world conversion, in `../shared/vectors`. */
export const HELLO_LAYOUT = vector("upstream/hello-world-registry");
/** The overlaybd layer blob of the `amd64-converted` manifest. */
export const OBD_LAYER = "sha256:022231c3f1af70e0cc42f0c3781eabf174cff608210585bf93fc83e16d33672d";

/** Path of a blob in a layout. */
export function blobPath(layout: string, digest: string): string {
  return `${layout}/blobs/${digest.replace(":", "/")}`;
}

/** Pushes every manifest (and what it names) of the layout's index.json, then its tags. */
export async function pushLayout(repo: Repository, layout: string): Promise<void> {
  const index: ImageIndex = JSON.parse(await Deno.readTextFile(`${layout}/index.json`));
  const pushed = new Set<string>();
  const pushTree = async (desc: Descriptor, tag?: string): Promise<void> => {
    const bytes = await Deno.readFile(blobPath(layout, desc.digest));
    if (!pushed.has(desc.digest)) {
      const doc = JSON.parse(new TextDecoder().decode(bytes));
      if (isIndex(desc.mediaType)) {
        for (const child of (doc as ImageIndex).manifests) await pushTree(child);
      } else {
        const m = doc as ImageManifest;
        for (const blob of [m.config, ...m.layers]) {
          await pushBlob(repo, await Deno.readFile(blobPath(layout, blob.digest)), {
            digest: blob.digest,
          });
        }
      }
      await pushManifest(repo, bytes, { mediaType: desc.mediaType });
      pushed.add(desc.digest);
    }
    if (tag) await pushManifest(repo, bytes, { mediaType: desc.mediaType, tag });
  };
  for (const desc of index.manifests) {
    await pushTree(desc, desc.annotations?.["org.opencontainers.image.ref.name"]);
  }
}
