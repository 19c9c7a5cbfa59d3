// The @grpc/grpc-js side of bench/grpc_stat.ts, run under Node (Deno's
// node:http2 server aborts the process when clients drop connections):
// serves one unary method on a unix socket answering fixed bytes.
//
// Run: node bench/_grpc_stat_node_server.mjs SOCKET METHOD REPLY_HEX
// Prints "ready" once listening; exits when stdin closes.

import process from "node:process";
import { Buffer } from "node:buffer";
import grpc from "@grpc/grpc-js";

const [path, method, replyHex] = process.argv.slice(2);
const reply = Buffer.from(replyHex, "hex");
const bytes = (b) => b;

const server = new grpc.Server();
server.addService({
  Stat: {
    path: method,
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
}, { Stat: (_call, callback) => callback(null, reply) });
server.bindAsync(`unix:${path}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`cannot listen on ${path}: ${err.message}`);
    process.exit(1);
  }
  console.log("ready");
});
process.stdin.resume();
process.stdin.on("end", () => server.tryShutdown(() => process.exit(0)));
