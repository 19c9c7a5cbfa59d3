// The client of bench/grpc_stat.ts, run under Node with @grpc/grpc-js for
// every server measured, so that only the server differs.
//
// Run: node bench/_grpc_stat_client.mjs SOCKET METHOD REQUEST_HEX REPLY_HEX OPTIONS_JSON
// OPTIONS_JSON: {"warmup": n, "sequential": n, "concurrency": n, "concurrent": n}
// Prints one JSON line: per phase, latency percentiles in µs and calls/s;
// the client's own CPU per call in µs.

import process from "node:process";
import { Buffer } from "node:buffer";
import grpc from "@grpc/grpc-js";

const [path, method, requestHex, replyHex, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
const request = Buffer.from(requestHex, "hex");
const reply = Buffer.from(replyHex, "hex");
const bytes = (b) => b;
const client = new grpc.Client(`unix://${path}`, grpc.credentials.createInsecure());

/** One call; resolves with its latency in µs, rejects when the reply is wrong. */
function call() {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method, bytes, bytes, request, (err, res) => {
      if (err) return reject(err);
      if (!reply.equals(res)) return reject(new Error("unexpected reply bytes"));
      resolve(Number(process.hrtime.bigint() - start) / 1000);
    });
  });
}

/** `total` calls with `inFlight` of them outstanding at any time. */
async function phase(total, inFlight) {
  const latencies = new Float64Array(total);
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      latencies[i] = await call();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort();
  const at = (p) => latencies[Math.min(total - 1, Math.floor(total * p))];
  return { calls: total, p50: at(0.5), p90: at(0.9), p99: at(0.99), perSecond: total / seconds };
}

try {
  const cpu0 = process.cpuUsage();
  await phase(options.warmup, 1);
  await phase(options.warmup, options.concurrency);
  const sequential = await phase(options.sequential, 1);
  const concurrent = await phase(options.concurrent, options.concurrency);
  const cpu = process.cpuUsage(cpu0);
  const calls = 2 * options.warmup + options.sequential + options.concurrent;
  const clientCpuPerCall = (cpu.user + cpu.system) / calls;
  console.log(JSON.stringify({ sequential, concurrent, clientCpuPerCall }));
} finally {
  client.close();
}
