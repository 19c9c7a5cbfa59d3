import assert from "node:assert/strict";
import { labels } from "../../src/oci/mod.ts";
import { openRepository, parseReference, readBlob, resolveImage } from "../../src/registry/mod.ts";
import { decodeTrace, traceOfAccelerationLayer } from "../../src/trace/mod.ts";
import { runCli, withTempDir } from "../_helpers.ts";
import { OS_RELEASE_LINE, pushBusyboxImage } from "../containerd/_busybox_image.ts";
import { type ContainerdFixture, withContainerd } from "../containerd/_containerd.ts";
import { startRegistry } from "../registry/_registry.ts";
import { type SnapshotterDaemon, withSnapshotterDaemon } from "./_snapshotter_daemon.ts";

const root = Deno.uid() === 0;

/** The top layer of `ref` and the trace file inside it. */
async function topLayer(ref: string) {
  const reference = parseReference(ref);
  const repo = openRepository(reference, { plain: true });
  try {
    const { manifest } = await resolveImage(repo, reference.tag!);
    const top = manifest.layers.at(-1)!;
    return { manifest, top, trace: traceOfAccelerationLayer(await readBlob(repo, top.digest)) };
  } finally {
    repo.close();
  }
}

/**
 * A registry with a converted busybox image; our snapshotter; containerd
 * using it. Resolves to the snapshotter's log, complete once it stopped.
 */
function withScene(
  fn: (s: { obdRef: string; host: string; ctd: ContainerdFixture }) => Promise<void>,
): Promise<string> {
  return withTempDir(async (tmp) => {
    const registry = await startRegistry(tmp);
    try {
      const { ref } = await pushBusyboxImage(tmp, registry.host, "busybox", "plain");
      const obdRef = `${registry.host}/busybox:obd`;
      const conv = await runCli(["obdconv", "--plain", "--no-dedup", ref, obdRef]);
      assert.equal(conv.code, 0, conv.stderr);
      let daemon: SnapshotterDaemon | undefined;
      await withSnapshotterDaemon(tmp, { insecureHosts: [registry.host] }, (d) => {
        daemon = d;
        return withContainerd(
          { proxySnapshotters: { overlaybd: d.address } },
          (ctd) => fn({ obdRef, host: registry.host, ctd }),
        );
      });
      return await daemon!.log();
    } finally {
      await registry.stop();
    }
  });
}

Deno.test({
  name: "record-trace records a container's reads, and a pull of the result replays them",
  ignore: !root,
  fn: async () => {
    const log = await withScene(async ({ obdRef, host, ctd }) => {
      const at = ["--address", ctd.address, "--namespace", ctd.namespace];
      const traced = `${host}/busybox:traced`;
      const rec = await runCli([
        "record-trace",
        "--plain",
        ...at,
        "--working-dir",
        `${ctd.dir}/record`,
        obdRef,
        traced,
        "--",
        "cat",
        "/etc/os-release",
      ]);
      assert.equal(rec.code, 0, rec.stderr);
      assert.match(rec.stderr, new RegExp(OS_RELEASE_LINE), "the container's output is relayed");
      const { manifest, top, trace } = await topLayer(traced);
      assert.equal(top.annotations?.[labels.ACCELERATION_LAYER], "yes");
      assert.equal(manifest.layers.length, 2);
      const records = decodeTrace(new Uint8Array(trace));
      assert.ok(records.length > 0, "no reads recorded");

      // The traced image: rpull unpacks the trace, the device replays it.
      const pull = await runCli(["rpull", "--plain", ...at, traced]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.match(pull.stderr, /acceleration layer unpacked/);
      const run = await ctd.ctr([
        "run",
        "--rm",
        ...ctd.runFlags,
        "--snapshotter",
        "overlaybd",
        traced,
        "t1",
        "cat",
        "/etc/os-release",
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(OS_RELEASE_LINE));

      // --time stops a container that does not exit (PID 1 ignores SIGTERM: SIGKILL follows).
      const slow = await runCli([
        "record-trace",
        "--plain",
        ...at,
        "--working-dir",
        `${ctd.dir}/record`,
        "--time",
        "1",
        obdRef,
        `${host}/busybox:slow`,
        "--",
        "sleep",
        "600",
      ]);
      assert.equal(slow.code, 0, slow.stderr);
      assert.match(slow.stderr, /stopped after 1 s/);
    });
    // Written whole once the snapshotter stopped.
    assert.match(log, /prefetch: replaying .*\/fs\/trace/);
  },
});

Deno.test({
  name: "record-trace --priority-list packs the list without running anything",
  ignore: !root,
  fn: () =>
    withTempDir(async (tmp) => {
      const registry = await startRegistry(tmp);
      try {
        const { ref } = await pushBusyboxImage(tmp, registry.host, "busybox", "plain");
        const obdRef = `${registry.host}/busybox:obd`;
        const conv = await runCli(["obdconv", "--plain", "--no-dedup", ref, obdRef]);
        assert.equal(conv.code, 0, conv.stderr);
        const list = `${tmp}/list`;
        await Deno.writeTextFile(list, "/bin/busybox\n/etc/*\n");
        const dst = `${registry.host}/busybox:listed`;
        const base = [
          "record-trace",
          "--plain",
          "--address",
          `${tmp}/no.sock`,
          "--working-dir",
          `${tmp}/work`,
        ];
        const out = await runCli([...base, "--priority-list", list, obdRef, dst]);
        assert.equal(out.code, 0, out.stderr);
        const { trace } = await topLayer(dst);
        assert.equal(new TextDecoder().decode(trace), "/bin/busybox\n/etc/*\n");

        const twice = await runCli([...base, "--priority-list", list, dst, `${dst}2`]);
        assert.notEqual(twice.code, 0);
        assert.match(twice.stderr, /acceleration layer already/);
        const withCmd = await runCli([...base, "--priority-list", list, obdRef, dst, "--", "ls"]);
        assert.notEqual(withCmd.code, 0);
        assert.match(withCmd.stderr, /drop the command/);
        const same = await runCli([...base, obdRef, obdRef]);
        assert.notEqual(same.code, 0);
        assert.match(same.stderr, /differ from SRC/);
        const plainImage = await runCli([...base, "--priority-list", list, ref, `${dst}3`]);
        assert.notEqual(plainImage.code, 0, "a plain OCI image has no overlaybd layers");
      } finally {
        await registry.stop();
      }
    }),
});
