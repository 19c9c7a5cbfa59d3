import assert from "node:assert/strict";
import { FailedPreconditionError, UnavailableError } from "../../src/errors.ts";
import { startSnapshotterProcess } from "../../src/process/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { leftoversOf } from "../demo/_leftovers.ts";

const ignore = Deno.uid() !== 0;

async function serves(path: string): Promise<boolean> {
  try {
    (await Deno.connect({ transport: "unix", path })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "startSnapshotterProcess() serves on its socket with configs in its directory",
  ignore,
  fn: () =>
    withTempDir(async (tmp) => {
      const dir = `${tmp}/sn`;
      const sn = await startSnapshotterProcess({
        dir,
        insecureHosts: ["127.0.0.1:5000"],
        config: { rwMode: "dir" },
        cacheSizeGB: 1,
      });
      try {
        assert.equal(sn.address, `${dir}/snapshotter.sock`);
        assert.ok(await serves(sn.address));
        const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
        assert.deepEqual(config, {
          mirrorRegistry: [{ host: "127.0.0.1:5000", insecure: true }],
          rwMode: "dir",
        });
        const obd = JSON.parse(await Deno.readTextFile(`${dir}/overlaybd.json`));
        assert.equal(obd.cacheConfig.cacheDir, sn.cacheDir);
        assert.equal(obd.cacheConfig.cacheSizeGB, 1);
        assert.ok(obd.logConfig.logPath.startsWith(`${dir}/`));
        assert.match(await sn.log(), /rwMode dir/);
      } finally {
        await sn.close();
      }
      await sn.close();
      assert.equal(await serves(sn.address), false);
      assert.deepEqual(await leftoversOf(tmp), []);
      await assert.rejects(sn.restart(), FailedPreconditionError);
    }),
});

Deno.test({
  name: "SnapshotterProcess.restart() serves again on the same socket after kill()",
  ignore,
  fn: () =>
    withTempDir(async (tmp) => {
      const sn = await startSnapshotterProcess({ dir: `${tmp}/sn` });
      try {
        await sn.kill();
        assert.equal(await serves(sn.address), false);
        await sn.restart();
        assert.ok(await serves(sn.address));
        assert.equal((await sn.log()).match(/serving /g)?.length, 2, await sn.log());
      } finally {
        await sn.close();
      }
      assert.deepEqual(await leftoversOf(tmp), []);
    }),
});

Deno.test({
  name: "startSnapshotterProcess() throws UnavailableError and leaves nothing when it exits",
  ignore,
  fn: () =>
    withTempDir(async (tmp) => {
      await assert.rejects(
        startSnapshotterProcess({ dir: `${tmp}/sn`, config: { rwMode: "bogus" } }),
        (err) => err instanceof UnavailableError && /exited/.test(err.message),
      );
      assert.deepEqual(await leftoversOf(tmp), []);
    }),
});
