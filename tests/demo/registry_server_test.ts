import assert from "node:assert/strict";
import { startLocalRegistry } from "../../src/demo/mod.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("startLocalRegistry() serves the registry API on loopback until stop()", async () => {
  await withTempDir(async (dir) => {
    const registry = await startLocalRegistry(`${dir}/registry`);
    try {
      assert.match(registry.host, /^127\.0\.0\.1:\d+$/);
      const res = await fetch(`http://${registry.host}/v2/`);
      await res.body?.cancel();
      assert.equal(res.status, 200);
    } finally {
      await registry.stop();
    }
    await registry.stop();
    await assert.rejects(fetch(`http://${registry.host}/v2/`));
  });
});
