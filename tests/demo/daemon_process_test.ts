import assert from "node:assert/strict";
import { findProgram, spawnDaemon } from "../../src/demo/daemon_process.ts";
import { FailedPreconditionError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";

Deno.test("findProgram() finds what is on PATH and nothing else", () => {
  assert.match(findProgram("sh") ?? "", /\/sh$/);
  assert.equal(findProgram("overlaybd-no-such-program"), undefined);
});

Deno.test("spawnDaemon() throws FailedPreconditionError for a program that is not installed", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      spawnDaemon("overlaybd-no-such-program", [], `${dir}/log`),
      FailedPreconditionError,
      "overlaybd-no-such-program",
    );
  });
});

Deno.test("spawnDaemon() logs stderr, runs in its own session, and stop() is idempotent", async () => {
  await withTempDir(async (dir) => {
    const daemon = await spawnDaemon("sh", ["-c", "echo ready >&2; exec sleep 600"], `${dir}/log`);
    try {
      const until = Date.now() + 10_000;
      while (!(await daemon.log()).includes("ready") && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(await daemon.log(), "ready\n");
      const stat = (await Deno.readTextFile(`/proc/${daemon.pid}/stat`)).split(") ")[1].split(" ");
      assert.equal(stat[3], String(daemon.pid), "not the leader of its own session");
      assert.equal(daemon.exited(), false);
    } finally {
      await daemon.stop();
    }
    await daemon.stop();
    assert.equal(daemon.exited(), true);
  });
});
