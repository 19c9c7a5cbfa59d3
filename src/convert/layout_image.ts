import { CorruptDataError, NotFoundError } from "../errors.ts";
import {
  DEFAULT_PLATFORM,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndex,
  type Platform,
  selectPlatform,
  verifyDigest,
} from "../registry/mod.ts";
import { layoutBlobPath, readLayoutIndex, REF_NAME } from "./oci_layout.ts";

/** Parses JSON bytes. @throws {CorruptDataError} when they are not JSON */
export function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new CorruptDataError(`${what} is not valid JSON`, { cause });
  }
}

/**
 * Reads a blob of the layout `dir` and checks its digest.
 *
 * @throws {NotFoundError} when the blob is missing
 * @throws {CorruptDataError} when the bytes do not match the digest
 */
export async function readLayoutBlob(
  dir: string,
  digest: string,
  what: string,
): Promise<Uint8Array<ArrayBuffer>> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(layoutBlobPath(dir, digest));
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`${what}: blob ${digest} is missing`, { cause });
    }
    throw cause;
  }
  await verifyDigest(bytes, digest, `${what}: blob ${digest}`);
  return bytes;
}

/**
 * The entry of the layout's index.json with the tag or digest `ref` (the
 * only entry when unset).
 *
 * @throws {NotFoundError} when none or several entries match
 */
export async function findLayoutEntry(dir: string, ref: string | undefined): Promise<Descriptor> {
  const top = await readLayoutIndex(dir);
  const found = top.manifests.filter((m) =>
    ref === undefined || m.digest === ref || m.annotations?.[REF_NAME] === ref
  );
  if (found.length !== 1) {
    throw new NotFoundError(
      `oci:${dir}${ref ? `:${ref}` : ""}: ${
        found.length === 0 ? "no such image" : "several images; name a tag"
      }`,
    );
  }
  return found[0];
}

/**
 * Resolves `ref` in the OCI layout `dir` to one image manifest: the entry
 * of index.json with that tag or digest (the only entry when unset),
 * following an index to the wanted platform.
 */
export async function resolveLayoutImage(
  dir: string,
  ref: string | undefined,
  platform: Platform = DEFAULT_PLATFORM,
): Promise<{ descriptor: Descriptor; manifest: ImageManifest }> {
  const what = `oci:${dir}${ref ? `:${ref}` : ""}`;
  let desc = await findLayoutEntry(dir, ref);
  if (isIndex(desc.mediaType)) {
    const index = parseJson<ImageIndex>(await readLayoutBlob(dir, desc.digest, what), what);
    desc = selectPlatform(index, platform, what);
  }
  const manifest = parseJson<ImageManifest>(await readLayoutBlob(dir, desc.digest, what), what);
  return {
    descriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size },
    manifest,
  };
}
