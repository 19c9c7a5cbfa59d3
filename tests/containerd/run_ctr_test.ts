import assert from "node:assert/strict";
import { runCtr } from "../../src/containerd/mod.ts";
import { findProgram } from "../../src/process/mod.ts";
import { withTempDir } from "../_helpers.ts";

const ignore = !findProgram("ctr");

Deno.test({
  name: "runCtr() returns a non-zero exit and ctr's stderr when nothing serves the socket",
  ignore,
  fn: async () => {
    const out = await runCtr("/nonexistent/containerd.sock", "default", [
      "--connect-timeout",
      "1s",
      "version",
    ]);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /nonexistent\/containerd\.sock/);
  },
});

Deno.test({
  name: "runCtr() kills ctr when its signal aborts",
  ignore,
  fn: async () => {
    await withTempDir(async (dir) => {
      // Accepts connections and never answers: ctr waits for its gRPC handshake.
      const listener = Deno.listen({ transport: "unix", path: `${dir}/mute.sock` });
      const conns: Deno.Conn[] = [];
      const accepting = (async () => {
        for await (const conn of listener) conns.push(conn);
      })();
      try {
        const started = performance.now();
        const out = await runCtr(`${dir}/mute.sock`, "default", ["version"], {
          signal: AbortSignal.timeout(500),
        });
        assert.ok(performance.now() - started < 10_000, "ctr was not killed");
        assert.notEqual(out.code, 0);
      } finally {
        listener.close();
        await accepting.catch(() => {});
        for (const conn of conns) conn.close();
      }
    });
  },
});
