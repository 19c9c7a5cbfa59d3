import assert from "node:assert/strict";
import { openRepository, readBlobRange, staticCredentials } from "../../src/registry/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { blobPath, HELLO_LAYOUT, OBD_LAYER } from "./_layout.ts";
import { startRegistry } from "./_registry.ts";
import { pushBlob } from "../../src/registry/mod.ts";

const LAYER = await Deno.readFile(blobPath(HELLO_LAYOUT, OBD_LAYER));

Deno.test("exchange() follows a blob redirect to storage without the Authorization header", async () => {
  await withTempDir(async (dir) => {
    const reg = await startRegistry(dir, { basic: { username: "u", password: "p" } });
    const credentials = staticCredentials("u:p");
    // Object storage on another origin, serving the blob by signed URL, as S3 would.
    const storageAuth: (string | null)[] = [];
    const storage = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      storageAuth.push(req.headers.get("authorization"));
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.get("range") ?? "");
      if (!m || new URL(req.url).searchParams.get("sig") !== "ok") {
        return new Response("bad", { status: 400 });
      }
      const [a, b] = [Number(m[1]), Number(m[2])];
      return new Response(LAYER.slice(a, b + 1), {
        status: 206,
        headers: { "content-range": `bytes ${a}-${b}/${LAYER.length}` },
      });
    });
    // The registry's front: authenticated blob GETs are redirected to storage.
    const frontAuth: (string | null)[] = [];
    const front = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const u = new URL(req.url);
      const auth = req.headers.get("authorization");
      if (req.method === "GET" && u.pathname.includes("/blobs/") && auth) {
        frontAuth.push(auth);
        const location = `http://127.0.0.1:${storage.addr.port}/bucket/${OBD_LAYER}?sig=ok`;
        return new Response(null, { status: 307, headers: { location } });
      }
      const r = await fetch(`http://${reg.host}${u.pathname}${u.search}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        redirect: "manual",
      });
      return new Response(r.body, { status: r.status, headers: r.headers });
    });
    const seed = openRepository(`${reg.host}/hello`, { plain: true, credentials });
    const repo = openRepository(`127.0.0.1:${front.addr.port}/hello`, { plain: true, credentials });
    try {
      await pushBlob(seed, LAYER, { digest: OBD_LAYER });
      for (const [off, len] of [[0, 100], [70_000, 5_000]]) {
        assert.deepEqual(
          await readBlobRange(repo, OBD_LAYER, off, len),
          LAYER.subarray(off, off + len),
        );
      }
      assert.equal(frontAuth.length, 2);
      assert.ok(frontAuth.every((a) => a?.startsWith("Basic ")));
      assert.deepEqual(storageAuth, [null, null]);
    } finally {
      seed.close();
      repo.close();
      await front.shutdown();
      await storage.shutdown();
      await reg.stop();
    }
  });
});
