/**
 * Benchmark of the gRPC server (`src/grpc`): unary Stat calls served by our
 * server next to a Node `@grpc/grpc-js` server with the same handler, both
 * called by the same `@grpc/grpc-js` client running under Node, in one run.
 *
 * Each handler answers the same fixed bytes: a containerd
 * `StatSnapshotResponse` encoded once here with the generated messages of
 * `src/containerd/`, so the servers differ only in how they carry a call.
 * A third row runs our server with a handler that decodes the request and
 * encodes the response with protobuf-es on every call, as the snapshotter
 * does; grpc-js has no such row because protobuf-es code does not load in
 * the Node server here.
 *
 * Phases, per server, in a fresh client process: warm-up, then
 * `--sequential` calls one at a time (latency), then `--concurrent` calls
 * with `--concurrency` in flight on one connection (throughput). The server's
 * CPU time per call is read from /proc over the whole client run. Rounds
 * alternate the servers; the best of each figure over the rounds is kept.
 *
 * Run: deno run -A bench/grpc_stat.ts [--rounds 3] [--sequential 20000]
 *        [--concurrent 20000] [--concurrency 64]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { snapshotsApi } from "../src/containerd/mod.ts";
import { serveGrpc, unary } from "../src/grpc/mod.ts";

const METHOD = "/containerd.services.snapshots.v1.Snapshots/Stat";
const ROOT = new URL("..", import.meta.url).pathname;

const args = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    sequential: { type: "string", default: "20000" },
    concurrent: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "64" },
  },
}).values;
const clientOptions = {
  warmup: 2000,
  sequential: Number(args.sequential),
  concurrent: Number(args.concurrent),
  concurrency: Number(args.concurrency),
};

// A committed overlaybd layer as the snapshotter would report it.
const KEY = "sha256:" + "4f".repeat(32);
const info = create(snapshotsApi.InfoSchema, {
  name: KEY,
  parent: "sha256:" + "a1".repeat(32),
  kind: snapshotsApi.Kind.COMMITTED,
  createdAt: { seconds: 1_700_000_000n, nanos: 123_456_789 },
  updatedAt: { seconds: 1_700_000_100n, nanos: 987_654_321 },
  labels: {
    "containerd.io/snapshot.ref": KEY,
    "containerd.io/snapshot/overlaybd/blob-digest": "sha256:" + "5e".repeat(32),
    "containerd.io/snapshot/overlaybd/blob-size": "642560",
    "containerd.io/snapshot/image-ref": "127.0.0.1:5000/app:obd",
  },
});
const REPLY = toBinary(
  snapshotsApi.StatSnapshotResponseSchema,
  create(
    snapshotsApi.StatSnapshotResponseSchema,
    { info },
  ),
);
const REQUEST = toBinary(
  snapshotsApi.StatSnapshotRequestSchema,
  create(snapshotsApi.StatSnapshotRequestSchema, { snapshotter: "overlaybd", key: KEY }),
);

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

interface Phase {
  calls: number;
  p50: number;
  p90: number;
  p99: number;
  perSecond: number;
}

interface Result {
  sequential: Phase;
  concurrent: Phase;
  /** Server CPU (user + system) per call over the whole client run, µs. */
  cpuPerCall: number;
  /** The client's CPU per call, µs. */
  clientCpuPerCall: number;
}

/** User + system CPU of process `pid` in µs (clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Runs the Node client against the server on `socket`, whose process is `pid`. */
async function measure(socket: string, pid: number): Promise<Result> {
  const cpu0 = cpuMicros(pid);
  const out = await new Deno.Command("node", {
    args: [
      `${ROOT}bench/_grpc_stat_client.mjs`,
      socket,
      METHOD,
      hex(REQUEST),
      hex(REPLY),
      JSON.stringify(clientOptions),
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the grpc-js client failed on ${socket}`);
  const calls = 2 * clientOptions.warmup + clientOptions.sequential + clientOptions.concurrent;
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  return { ...r, cpuPerCall: (cpuMicros(pid) - cpu0) / calls };
}

/** Our server, in this process, with the fixed reply or a protobuf-es round trip per call. */
async function measureOurs(dir: string, codec: boolean): Promise<Result> {
  const socket = `${dir}/ours.sock`;
  const handler = codec
    ? unary(
      (b) => fromBinary(snapshotsApi.StatSnapshotRequestSchema, b),
      (m: snapshotsApi.StatSnapshotResponse) =>
        toBinary(snapshotsApi.StatSnapshotResponseSchema, m),
      (req) =>
        create(snapshotsApi.StatSnapshotResponseSchema, { info: { ...info, name: req.key } }),
    )
    : unary((b) => b, (b: Uint8Array) => b, () => REPLY);
  const server = serveGrpc({ path: socket }, { [METHOD]: handler });
  try {
    return await measure(socket, Deno.pid);
  } finally {
    await server.close();
  }
}

/** The grpc-js server, in a Node process of its own. */
async function measureGrpcJs(dir: string): Promise<Result> {
  const socket = `${dir}/grpcjs.sock`;
  const child = new Deno.Command("node", {
    args: [`${ROOT}bench/_grpc_stat_node_server.mjs`, socket, METHOD, hex(REPLY)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const first = await lines.read();
    if (!first.value?.startsWith("ready")) throw new Error("the grpc-js server did not start");
    return await measure(socket, child.pid);
  } finally {
    await child.stdin.close();
    await lines.cancel();
    await child.status;
  }
}

const SERVERS: Array<[string, (dir: string) => Promise<Result>]> = [
  ["ours (src/grpc, Deno)", (dir) => measureOurs(dir, false)],
  ["ours + protobuf-es per call", (dir) => measureOurs(dir, true)],
  ["@grpc/grpc-js 1.14.7 (Node 20)", measureGrpcJs],
];

try {
  Deno.statSync(`${ROOT}node_modules/@grpc/grpc-js`);
} catch {
  console.error("node_modules/@grpc/grpc-js is missing: run `deno install` in the checkout first");
  Deno.exit(1);
}

const dir = await Deno.makeTempDir({ prefix: "overlaybd-bench-grpc-" });
const results = new Map<string, Result[]>(SERVERS.map(([name]) => [name, []]));
try {
  console.log(
    `Stat reply ${REPLY.length} bytes (fixed, same bytes from every server), request ` +
      `${REQUEST.length} bytes; ${clientOptions.sequential} sequential calls, ` +
      `${clientOptions.concurrent} calls ${clientOptions.concurrency} in flight; unix sockets`,
  );
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const [name, run] of SERVERS) {
      const r = await run(dir);
      results.get(name)!.push(r);
      console.log(
        `round ${round} ${name}: sequential p50 ${r.sequential.p50.toFixed(0)} µs ` +
          `p99 ${r.sequential.p99.toFixed(0)} µs; concurrent ${
            r.concurrent.perSecond.toFixed(0)
          }/s ` +
          `p50 ${r.concurrent.p50.toFixed(0)} µs p99 ${r.concurrent.p99.toFixed(0)} µs; ` +
          `CPU per call: server ${r.cpuPerCall.toFixed(0)} µs, client ${
            r.clientCpuPerCall.toFixed(0)
          } µs`,
      );
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

const best = (name: string) => {
  const rs = results.get(name)!;
  const min = (f: (r: Result) => number) => Math.min(...rs.map(f));
  return {
    p50: min((r) => r.sequential.p50),
    p99: min((r) => r.sequential.p99),
    perSecond: Math.max(...rs.map((r) => r.concurrent.perSecond)),
    cp50: min((r) => r.concurrent.p50),
    cp99: min((r) => r.concurrent.p99),
    cpu: min((r) => r.cpuPerCall),
  };
};
console.log(
  "\n| server | sequential p50 µs | sequential p99 µs | " +
    `${clientOptions.concurrency} in flight calls/s | in flight p50 µs | in flight p99 µs | ` +
    "server CPU µs/call |\n| --- | --- | --- | --- | --- | --- | --- |",
);
for (const [name] of SERVERS) {
  const b = best(name);
  console.log(
    `| ${name} | ${b.p50.toFixed(0)} | ${b.p99.toFixed(0)} | ${b.perSecond.toFixed(0)} | ` +
      `${b.cp50.toFixed(0)} | ${b.cp99.toFixed(0)} | ${b.cpu.toFixed(1)} |`,
  );
}
const ours = best(SERVERS[0][0]);
const theirs = best(SERVERS[2][0]);
console.log(
  `\nours / grpc-js: sequential p50 ${(ours.p50 / theirs.p50).toFixed(2)}×, p99 ` +
    `${(ours.p99 / theirs.p99).toFixed(2)}× (lower is better); throughput ` +
    `${(ours.perSecond / theirs.perSecond).toFixed(2)}×, server CPU per call ` +
    `${(ours.cpu / theirs.cpu).toFixed(2)}× (best of ${args.rounds} rounds each)`,
);
