import assert from "node:assert/strict";
import { openTeardown } from "../../src/demo/teardown.ts";

Deno.test("Teardown.run() undoes last first, goes on after a failure and runs each action once", async () => {
  const order: string[] = [];
  const teardown = openTeardown();
  teardown.defer("registry", () => void order.push("registry"));
  teardown.defer("mount", () => Promise.reject(new Error("busy")));
  teardown.defer("containerd", async () => {
    await new Promise((r) => setTimeout(r, 5));
    order.push("containerd");
  });
  assert.deepEqual(await teardown.run(), ["mount: busy"]);
  assert.deepEqual(order, ["containerd", "registry"]);
  assert.deepEqual(await teardown.run(), []);
  assert.deepEqual(order, ["containerd", "registry"]);
});
