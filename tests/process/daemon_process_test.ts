import assert from "node:assert/strict";
import { spawnDaemon } from "../../src/process/mod.ts";
import { FailedPreconditionError } from "../../src/errors.ts";
import { withTempDir } from "../_helpers.ts";

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

Deno.test("DaemonProcess.stop() sends SIGKILL after the grace time to a daemon that ignores SIGTERM", async () => {
  await withTempDir(async (dir) => {
    const script = "trap '' TERM; echo ready >&2; exec sleep 600";
    const daemon = await spawnDaemon("sh", ["-c", script], `${dir}/log`);
    try {
      while (!(await daemon.log()).includes("ready")) await new Promise((r) => setTimeout(r, 20));
      const started = performance.now();
      await daemon.stop(300);
      assert.ok(performance.now() - started >= 250, "stopped before the grace time ran out");
      assert.equal(daemon.exited(), true);
    } finally {
      await daemon.kill();
    }
  });
});

Deno.test("DaemonProcess.kill() ends it at once, and stop() afterwards resolves", async () => {
  await withTempDir(async (dir) => {
    const daemon = await spawnDaemon("sh", ["-c", "trap '' TERM; exec sleep 600"], `${dir}/log`);
    await daemon.kill();
    assert.equal(daemon.exited(), true);
    await assert.rejects(Deno.stat(`/proc/${daemon.pid}/cmdline`), Deno.errors.NotFound);
    await daemon.stop();
    await daemon.kill();
  });
});
