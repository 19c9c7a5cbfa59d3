/**
 * Benchmark helpers: Debian's `docker-registry` run inside a network
 * namespace, and the round trip of small HTTP requests to it.
 *
 * @module
 */

import { registryConfigLines } from "../src/demo/registry_server.ts";
import type { Netns } from "./_netns.ts";

/** A running registry; `stop()` is idempotent. */
export interface NsRegistry {
  stop(): Promise<void>;
}

async function waitForPort(hostname: string, port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      (await Deno.connect({ hostname, port })).close();
      return;
    } catch (err) {
      if (Date.now() > until) {
        throw new Error(`nothing listens on ${hostname}:${port}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Starts `docker-registry serve` inside `netns`, listening on
 * `netns.nsAddr:port`, storage under `dir/storage`, output to
 * `dir/registry.log`; waits (≤ 10 s) until it accepts connections.
 */
export async function startRegistryIn(
  netns: Netns,
  dir: string,
  port: number,
): Promise<NsRegistry> {
  const config = `${dir}/registry.yml`;
  await Deno.writeTextFile(
    config,
    registryConfigLines(`${dir}/storage`, `${netns.nsAddr}:${port}`).join("\n") + "\n",
  );
  // `ip netns exec` and `exec` replace themselves, so the child is the registry itself.
  const child = new Deno.Command("ip", {
    args: netns.execArgs([
      "sh",
      "-c",
      'exec /usr/bin/docker-registry serve "$0" >>"$1" 2>&1',
      config,
      `${dir}/registry.log`,
    ]),
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* exited already */ }
    await child.status;
  };
  try {
    await Promise.race([
      waitForPort(netns.nsAddr, port, 10_000),
      child.status.then((s) => {
        throw new Error(`docker-registry exited with ${s.code}; see ${dir}/registry.log`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** A request {@linkcode pingRegistry} sends: a path and an optional byte range. */
export interface Ping {
  path: string;
  range?: [number, number];
}

function encodePing(p: Ping): Uint8Array {
  const range = p.range ? `Range: bytes=${p.range[0]}-${p.range[1]}\r\n` : "";
  return new TextEncoder().encode(`GET ${p.path} HTTP/1.1\r\nHost: registry\r\n${range}\r\n`);
}

/** Reads one HTTP response with a Content-Length body from `conn`. */
async function readResponse(conn: Deno.Conn, buf: Uint8Array): Promise<void> {
  let have = "";
  for (let i = 0; i < 64; i++) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("registry closed the connection during a ping");
    have += new TextDecoder("latin1").decode(buf.subarray(0, n));
    const end = have.indexOf("\r\n\r\n");
    if (end < 0) continue;
    const len = Number(/^content-length: *(\d+)/im.exec(have.slice(0, end))?.[1] ?? 0);
    if (have.length >= end + 4 + len) return;
  }
  throw new Error("ping response too long");
}

/**
 * Round trips, in ms, of `n` small HTTP requests (`GET /v2/`, or `ping`)
 * sent one at a time on one open connection to `target` (the registry, or a
 * delay line in front of it): network round trip plus the registry's time
 * to answer. A first request, which also pays for connection setup, is sent
 * before and not counted.
 */
export async function pingRegistry(
  target: Deno.ConnectOptions,
  n: number,
  ping: Ping = { path: "/v2/" },
): Promise<number[]> {
  const request = encodePing(ping);
  const conn = await Deno.connect(target);
  conn.setNoDelay(true);
  const buf = new Uint8Array(65536);
  const times: number[] = [];
  try {
    for (let i = 0; i <= n; i++) {
      const t0 = performance.now();
      await conn.write(request);
      await readResponse(conn, buf);
      if (i > 0) times.push(performance.now() - t0);
    }
  } finally {
    conn.close();
  }
  return times;
}
