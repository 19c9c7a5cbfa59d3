import assert from "node:assert/strict";
import { UnavailableError } from "../../src/errors.ts";
import { spawnDaemon, waitListening } from "../../src/process/mod.ts";
import { withTempDir } from "../_helpers.ts";

/** A python3 one-liner that listens on a unix socket after `delay` seconds. */
function unixServer(path: string, delay: number): string[] {
  const code = "import socket,sys,time; time.sleep(float(sys.argv[2])); " +
    "s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(600)";
  return ["-c", code, path, String(delay)];
}

Deno.test("waitListening() resolves once a daemon listens on its unix socket", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/d.sock`;
    const daemon = await spawnDaemon("python3", unixServer(path, 0.3), `${dir}/log`);
    try {
      await waitListening(daemon, "server", { transport: "unix", path }, 10_000);
      (await Deno.connect({ transport: "unix", path })).close();
    } finally {
      await daemon.stop();
    }
  });
});

Deno.test("waitListening() resolves once a daemon listens on a TCP port", async () => {
  await withTempDir(async (dir) => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = probe.addr;
    probe.close();
    const daemon = await spawnDaemon(
      "python3",
      ["-m", "http.server", "--bind", "127.0.0.1", String(port)],
      `${dir}/log`,
    );
    try {
      await waitListening(daemon, "http.server", { hostname: "127.0.0.1", port }, 10_000);
    } finally {
      await daemon.stop();
    }
  });
});

Deno.test("waitListening() throws UnavailableError with the log's end when the daemon exits", async () => {
  await withTempDir(async (dir) => {
    const daemon = await spawnDaemon("sh", ["-c", "echo bad flag >&2; exit 2"], `${dir}/log`);
    const path = `${dir}/never.sock`;
    await assert.rejects(
      waitListening(daemon, "server", { transport: "unix", path }, 10_000),
      (err) =>
        err instanceof UnavailableError && /exited/.test(err.message) &&
        err.message.includes("bad flag") && err.message.includes(path),
    );
  });
});

Deno.test("waitListening() throws UnavailableError when nothing listens in time", async () => {
  await withTempDir(async (dir) => {
    const daemon = await spawnDaemon("sleep", ["600"], `${dir}/log`);
    try {
      await assert.rejects(
        waitListening(daemon, "server", { transport: "unix", path: `${dir}/s.sock` }, 200),
        (err) => err instanceof UnavailableError && /not within 200 ms/.test(err.message),
      );
      assert.equal(daemon.exited(), false);
    } finally {
      await daemon.stop();
    }
  });
});
