import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { type Descriptor, digestOf, type ImageIndex, OCI_INDEX } from "../registry/mod.ts";

/** The annotation that names a tag in an OCI layout's index.json. */
export const REF_NAME = "org.opencontainers.image.ref.name";

/** An `oci:DIR[:TAG]` image name. */
export interface LayoutRef {
  dir: string;
  /** Tag or digest; unset names the only image of the layout. */
  ref?: string;
}

/**
 * Parses `oci:DIR[:TAG]` (or `oci:DIR@sha256:…`); undefined for any other
 * text (a registry reference).
 */
export function parseLayoutRef(text: string): LayoutRef | undefined {
  if (!text.startsWith("oci:")) return undefined;
  const rest = text.slice(4);
  const at = rest.indexOf("@sha256:");
  if (at >= 0) return { dir: rest.slice(0, at), ref: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(":");
  const tag = colon >= 0 ? rest.slice(colon + 1) : "";
  if (colon >= 0 && !tag.includes("/")) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) {
      throw new InvalidArgumentError(`'${tag}' in ${text} is not a valid tag`);
    }
    return { dir: rest.slice(0, colon), ref: tag };
  }
  if (rest === "") throw new InvalidArgumentError(`${text} names no directory`);
  return { dir: rest };
}

/** Path of a blob in a layout. */
export function layoutBlobPath(dir: string, digest: string): string {
  return `${dir}/blobs/${digest.replace(":", "/")}`;
}

/**
 * The top-level index of a layout.
 *
 * @throws {NotFoundError} when `dir/index.json` does not exist
 */
export async function readLayoutIndex(dir: string): Promise<ImageIndex> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`${dir} is not an OCI layout (no index.json)`, { cause });
    }
    throw cause;
  }
}

/** Writes a blob into a layout (creating the layout) unless it is there. */
export async function writeLayoutBlob(dir: string, data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await digestOf(data);
  const path = layoutBlobPath(dir, digest);
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  if (!(await Deno.stat(path).catch(() => undefined))) {
    await Deno.writeFile(`${path}.tmp`, data);
    await Deno.rename(`${path}.tmp`, path);
  }
  return digest;
}

/**
 * Moves the file `from`, whose digest the caller computed, into a layout as
 * blob `digest` (renamed when on the same filesystem, else copied) unless
 * the layout has it. Says whether the blob was added.
 */
export async function moveLayoutBlob(dir: string, from: string, digest: string): Promise<boolean> {
  const path = layoutBlobPath(dir, digest);
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  if (await Deno.stat(path).catch(() => undefined)) return false;
  try {
    await Deno.rename(from, path);
  } catch {
    // Another filesystem (EXDEV): copy, then rename so readers never see half a blob.
    await Deno.copyFile(from, `${path}.tmp`);
    await Deno.rename(`${path}.tmp`, path);
  }
  return true;
}

/**
 * Adds `manifest` to the layout's index.json under `tag`, replacing what
 * had that tag. Write its blobs first.
 */
export async function tagLayoutManifest(
  dir: string,
  manifest: Descriptor,
  tag: string | undefined,
): Promise<void> {
  const index: ImageIndex = await readLayoutIndex(dir).catch((err) => {
    if (err instanceof NotFoundError) {
      return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    }
    throw err;
  });
  const entry: Descriptor = { ...manifest, ...(tag ? { annotations: { [REF_NAME]: tag } } : {}) };
  index.manifests = index.manifests.filter((m) =>
    tag ? m.annotations?.[REF_NAME] !== tag : m.digest !== manifest.digest
  );
  index.manifests.push(entry);
  await Deno.writeTextFile(`${dir}/index.json.tmp`, JSON.stringify(index));
  await Deno.rename(`${dir}/index.json.tmp`, `${dir}/index.json`);
}
