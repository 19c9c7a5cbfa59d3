import assert from "node:assert/strict";
import { AlreadyExistsError } from "../../src/errors.ts";
import { labels } from "../../src/oci/mod.ts";
import {
  blobExists,
  openRepository,
  readBlob,
  type Repository,
  resolveImage,
} from "../../src/registry/mod.ts";
import {
  pushAccelerated,
  type SourceImage,
  traceOfAccelerationLayer,
} from "../../src/trace/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { HELLO_LAYOUT, pushLayout } from "../registry/_layout.ts";
import { startRegistry } from "../registry/_registry.ts";

const LIST = new TextEncoder().encode("/hello\n");

async function source(repo: Repository, tag: string): Promise<SourceImage> {
  const { manifest } = await resolveImage(repo, tag);
  const config = JSON.parse(new TextDecoder().decode(await readBlob(repo, manifest.config.digest)));
  return { repo, manifest, config };
}

Deno.test("pushAccelerated() pushes the image with the trace as its top layer, mounting blobs across repositories", () =>
  withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    const src = openRepository(`${registry.host}/hello-world`, { plain: true });
    const other = openRepository(`${registry.host}/traced`, { plain: true });
    try {
      await pushLayout(src, HELLO_LAYOUT);
      const base = await source(src, "amd64-converted");
      const created = "2026-01-02T03:04:05Z";

      const same = await pushAccelerated(base, LIST, src, "traced", created);
      assert.equal(same.copied, 0);
      const got = await source(src, "traced");
      assert.equal(got.manifest.layers.length, base.manifest.layers.length + 1);
      const top = got.manifest.layers.at(-1)!;
      assert.deepEqual(top, same.layer);
      assert.equal(top.annotations?.[labels.ACCELERATION_LAYER], "yes");
      assert.deepEqual(traceOfAccelerationLayer(await readBlob(src, top.digest)), LIST);
      const rootfs = got.config.rootfs as { diff_ids: string[] };
      assert.equal(rootfs.diff_ids.at(-1), top.digest);
      assert.deepEqual((got.config.history as unknown[])[0], {
        created,
        created_by: "Acceleration Layer",
      });

      // Another repository of the same registry: the layers are mounted, not copied.
      const moved = await pushAccelerated(base, LIST, other, "v1", created);
      assert.equal(moved.copied, 0);
      assert.equal(moved.manifest.digest, same.manifest.digest);
      for (const l of base.manifest.layers) assert.ok(await blobExists(other, l.digest));

      await assert.rejects(pushAccelerated(got, LIST, src, "twice"), AlreadyExistsError);
    } finally {
      src.close();
      other.close();
      await registry.stop();
    }
  }));
