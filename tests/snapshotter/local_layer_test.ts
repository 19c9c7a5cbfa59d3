import assert from "node:assert/strict";
import {
  hasLocalLayer,
  readDeviceConfigIfAny,
  writeDeviceConfigSync,
} from "../../src/snapshotter/local_layer.ts";
import { vector, withTempDir } from "../_helpers.ts";
import { HELLO_BLOB } from "../mount/_mounted.ts";

Deno.test("hasLocalLayer() sees a ZFile or LSMT overlaybd.commit, not other files", async () => {
  await withTempDir(async (dir) => {
    assert.equal(await hasLocalLayer(dir), false);
    await Deno.writeTextFile(`${dir}/overlaybd.commit`, "not a layer at all");
    assert.equal(await hasLocalLayer(dir), false);
    // What containerd unpacks from the blob's one-file tar.
    const tar = await new Deno.Command("tar", { args: ["-xf", vector(HELLO_BLOB), "-C", dir] })
      .output();
    assert.ok(tar.success);
    assert.equal(await hasLocalLayer(dir), true);
    await Deno.remove(`${dir}/overlaybd.commit`);
    await Deno.writeFile(
      `${dir}/overlaybd.sealed`,
      new Uint8Array([0x4c, 0x53, 0x4d, 0x54, 0, 1, 2, 0, 9]),
    );
    assert.equal(await hasLocalLayer(dir), true);
    await Deno.writeFile(`${dir}/overlaybd.sealed`, new Uint8Array([0x4c, 0x53]));
    assert.equal(await hasLocalLayer(dir), false, "too short");
  });
});

Deno.test("writeDeviceConfigSync() writes mode 0600 atomically and reads back", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/config.v1.json`;
    assert.equal(await readDeviceConfigIfAny(path), undefined);
    const config = { repoBlobUrl: "", lowers: [{ dir: "/s/1/fs" }], upper: {}, resultFile: "/r" };
    writeDeviceConfigSync(path, config);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual(await readDeviceConfigIfAny(path), config);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), [
      "config.v1.json",
    ]);
  });
});
