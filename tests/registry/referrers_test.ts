import assert from "node:assert/strict";
import {
  fetchManifest,
  listReferrers,
  OCI_INDEX,
  OCI_MANIFEST,
  openRepository,
  OVERLAYBD_NATIVE_ARTIFACT,
  pushBlob,
  pushManifest,
  referrersTag,
} from "../../src/registry/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { startRegistry } from "./_registry.ts";

const SUBJECT_TAG = "base";
const EMPTY = new TextEncoder().encode("{}");
const EMPTY_DESC = {
  mediaType: "application/vnd.oci.empty.v1+json",
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  size: 2,
};

function artifact(
  subject: { digest: string; size: number } | undefined,
  artifactType: string,
  note: string,
) {
  return new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: EMPTY_DESC,
    layers: [EMPTY_DESC],
    ...(subject ? { subject: { mediaType: OCI_MANIFEST, ...subject } } : {}),
    annotations: { note },
  }));
}

Deno.test("listReferrers() finds referrers through the tag schema when the API is missing", async () => {
  await withTempDir(async (dir) => {
    const reg = await startRegistry(dir);
    const repo = openRepository(`${reg.host}/app`, { plain: true });
    try {
      await pushBlob(repo, EMPTY);
      const base = await pushManifest(repo, artifact(undefined, "application/x-base", "base"), {
        tag: SUBJECT_TAG,
      });
      assert.deepEqual(await listReferrers(repo, base.digest), []);

      const converted = await pushManifest(
        repo,
        artifact(base, OVERLAYBD_NATIVE_ARTIFACT, "converted"),
      );
      const signed = await pushManifest(repo, artifact(base, "application/x-signature", "sig"));
      await pushManifest(repo, artifact(base, OVERLAYBD_NATIVE_ARTIFACT, "converted"));

      const all = await listReferrers(repo, base.digest);
      assert.deepEqual(all.map((d) => d.digest), [converted.digest, signed.digest]);
      assert.equal(all[0].artifactType, OVERLAYBD_NATIVE_ARTIFACT);
      assert.deepEqual(all[0].annotations, { note: "converted" });
      const only = await listReferrers(repo, base.digest, {
        artifactType: OVERLAYBD_NATIVE_ARTIFACT,
      });
      assert.deepEqual(only.map((d) => d.digest), [converted.digest]);

      const index = await fetchManifest(repo, referrersTag(base.digest));
      assert.equal(index.descriptor.mediaType, OCI_INDEX);
      assert.equal(referrersTag(base.digest), base.digest.replace("sha256:", "sha256-"));
    } finally {
      repo.close();
      await reg.stop();
    }
  });
});
