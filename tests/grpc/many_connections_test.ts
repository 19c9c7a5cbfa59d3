import assert from "node:assert/strict";
import { Status } from "../../src/grpc/mod.ts";
import { withTempDir } from "../_helpers.ts";
import { callUnary, type grpc } from "./_client.ts";
import {
  CALLS_PER_CONNECTION,
  connection,
  newClient,
  type Tally,
  tally,
} from "./_connection_kinds.ts";
import { type ServerStats, STAT, statReply, STATS } from "./_stat_server.ts";

const CONNECTIONS = 200; // × 50 = 10 000 calls
const IN_PARALLEL = 16;

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Server-side ends of connections to `path` the kernel knows (connected sockets bound to it). */
function kernelConnections(path: string): number {
  return Deno.readTextFileSync("/proc/net/unix").split("\n")
    .filter((line) => line.endsWith(` ${path}`) && line.split(/\s+/)[5] === "03").length;
}

async function serverStats(client: grpc.Client): Promise<ServerStats> {
  const r = await callUnary(client, STATS, new Uint8Array(0));
  assert.ok(r.response, `stats call failed: ${r.error?.message}`);
  return JSON.parse(new TextDecoder().decode(r.response));
}

/** Resources of the idle server process. */
interface Usage {
  stats: ServerStats;
  fds: number;
  rssMiB: number;
}

async function serverUsage(pid: number, observer: grpc.Client): Promise<Usage> {
  const stats = await waitIdle(observer);
  const kb = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1];
  return { stats, fds: [...Deno.readDirSync(`/proc/${pid}/fd`)].length, rssMiB: Number(kb) / 1024 };
}

function describe(usage: Usage[]): string {
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  return `fds ${usage.map((u) => u.fds).join(" -> ")}, rss ` +
    `${usage.map((u) => u.rssMiB.toFixed(0)).join(" -> ")} MiB, heap ` +
    `${usage.map((u) => mib(u.stats.heapUsed)).join(" -> ")} MiB`;
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** What one storm saw. */
interface Storm {
  /** Connections closed cleanly or gracefully: every call must have its answer. */
  clean: Tally;
  /** Connections cancelled mid-call or reset. */
  dropped: Tally;
  seconds: number;
  peakConnections: number;
}

/** Runs {@linkcode CONNECTIONS} connections, {@linkcode IN_PARALLEL} at a time. */
async function storm(path: string, firstSeed: number, observer: grpc.Client): Promise<Storm> {
  const result: Storm = { clean: tally(), dropped: tally(), seconds: 0, peakConnections: 0 };
  const started = performance.now();
  const jobs = Array.from({ length: CONNECTIONS }, (_, i) => i);
  const worker = async () => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      await connection(path, firstSeed + job, result.clean, result.dropped);
      if (job % 10 === 0) {
        const { connections } = await serverStats(observer);
        result.peakConnections = Math.max(result.peakConnections, connections);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_PARALLEL }, worker));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** Waits until only the observer's connection is open and every handler has returned. */
async function waitIdle(observer: grpc.Client): Promise<ServerStats> {
  let stats!: ServerStats;
  await waitFor("connections to close and handlers to return", async () => {
    stats = await serverStats(observer);
    return stats.connections === 1 && stats.finished === stats.started;
  });
  return stats;
}

Deno.test("serveGrpc() stays up through 2 × 10 000 calls on connections dropped in every way", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/grpc.sock`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        new URL("./_stat_server.ts", import.meta.url).pathname,
        path,
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const stdin = child.stdin.getWriter();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const observer = newClient(path);
    try {
      assert.match((await lines.read()).value ?? "", /^ready/);
      // Warm up with two connections of each kind, then take the baseline.
      const warm = tally();
      for (let job = 0; job < 8; job++) await connection(path, job, warm, warm);
      // Process resources after each phase, once the server is idle: open fds,
      // resident memory, and the V8 heap after a full collection.
      const usage = [await serverUsage(child.pid, observer)];
      for (const round of [1, 2]) {
        const s = await storm(path, 1000 * round, observer);
        const { clean, dropped } = s;
        const notFound = clean.codes.get(Status.NOT_FOUND) ?? 0;
        assert.equal(clean.ok + notFound, clean.calls, `codes ${JSON.stringify([...clean.codes])}`);
        assert.equal(clean.calls + dropped.calls, CONNECTIONS * CALLS_PER_CONNECTION);
        const dropCodes = [...dropped.codes.keys()].filter((c) =>
          c !== Status.CANCELLED && c !== Status.NOT_FOUND
        );
        assert.deepEqual(dropCodes, [], "cancelled calls end CANCELLED, never with a server error");

        const u = await serverUsage(child.pid, observer);
        const handlers = u.stats.started - usage[usage.length - 1].stats.started;
        usage.push(u);
        console.log(
          `round ${round}: ${clean.calls + dropped.calls} calls on ${CONNECTIONS} connections ` +
            `in ${s.seconds.toFixed(1)} s; clean/close ${clean.ok} ok + ${notFound} NOT_FOUND ` +
            `of ${clean.calls}; cancel/reset ${dropped.ok} ok, codes ` +
            `${JSON.stringify(Object.fromEntries(dropped.codes))}; handlers run ${handlers}; ` +
            `peak connections ${s.peakConnections}; server ${describe(usage)}`,
        );
        assert.ok(handlers > 0.8 * CONNECTIONS * CALLS_PER_CONNECTION, `${handlers} handlers`);
        assert.equal(kernelConnections(path), 1, "the kernel holds only the observer's connection");
      }
      // The second storm finds a warm runtime (and a socketpair that the Deno runtime
      // opens for itself on first need): what it adds would be a leak. 1 MiB of heap is
      // 100 bytes a call.
      const [before, first, second] = usage;
      assert.ok(first.fds <= before.fds + 2 && second.fds <= first.fds, describe(usage));
      assert.ok(second.stats.heapUsed - first.stats.heapUsed < 2 ** 20, describe(usage));

      // And it still answers, on the old connection and on new ones.
      for (let i = 0; i < 5; i++) {
        const fresh = newClient(path);
        try {
          const r = await callUnary(fresh, STAT, encoder.encode("k3"));
          assert.deepEqual(r.response, statReply("k3"));
          const missing = await callUnary(observer, STAT, encoder.encode("nope"));
          assert.equal(missing.error?.code, Status.NOT_FOUND);
        } finally {
          fresh.close();
        }
      }
    } finally {
      observer.close();
      await stdin.close();
      const status = await child.status;
      await lines.cancel();
      assert.equal(status.code, 0, "the server process exits cleanly");
    }
  });
});
