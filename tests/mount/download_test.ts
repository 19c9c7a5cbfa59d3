import assert from "node:assert/strict";
import { sha256File } from "../_helpers.ts";
import {
  BLOB_DIGEST,
  BLOB_SIZE,
  dropCaches,
  HELLO_SHA,
  readAllData,
  withHelloRegistry,
} from "./_mounted.ts";
import { sha256 } from "../_helpers.ts";

const isRoot = Deno.uid() === 0;

async function waitForFile(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await Deno.stat(path);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

Deno.test({
  name: "background download fills a layer completely, keeps it in its dir, and reads go local",
  ignore: !isRoot,
  fn: () =>
    withHelloRegistry({}, async (f) => {
      const layerDir = `${f.tmp}/layer`;
      await Deno.mkdir(layerDir);
      const config = `${f.tmp}/config.v1.json`;
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          repoBlobUrl: `http://${f.registry.host}/v2/hello-world/blobs`,
          lowers: [{ digest: BLOB_DIGEST, size: BLOB_SIZE, dir: layerDir }],
          upper: {},
          resultFile: `${f.tmp}/result`,
          download: { enable: true, delay: 0, delayExtra: 0, maxMBps: 1 },
        }),
      );
      const r = await f.mountSource(config);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await Deno.readTextFile(`${f.tmp}/result`), "success");
      // 1 MiB/s throttle: the 627 KiB blob takes about 0.6 s.
      assert.ok(await waitForFile(`${layerDir}/overlaybd.commit`, 20_000), "download finished");
      assert.equal(`sha256:${await sha256File(`${layerDir}/overlaybd.commit`)}`, BLOB_DIGEST);
      await f.registry.stop();
      await dropCaches();
      assert.equal(await readAllData(`${f.runDir}/fuse/dev0`), "ok", "every block is local");
      assert.equal(
        await sha256(await Deno.readFile(`${f.mnt}/hello`)),
        HELLO_SHA,
      );
      assert.equal((await f.umount()).code, 0);
    }),
});
