/**
 * Cold-start benchmark: the emulated link to the registry. Debian's
 * `docker-registry` runs in a network namespace of the benchmark's own
 * with its storage on a tmpfs (dropping this host's page cache must not make
 * the "remote" side read a disk); clients reach it through the userspace
 * delay line on 127.0.0.1 (this kernel has no `tc netem`), and the veth's
 * egress inside the namespace is shaped by a `tbf` qdisc to the link rate.
 * The delay line counts the bytes it carries downstream: exact bytes on the
 * wire, headers included.
 *
 * @module
 */

import { type DelayLine, startDelayLine } from "../_delay_line.ts";
import { createNetns, type Netns } from "../_netns.ts";
import { type NsRegistry, pingRegistry, startRegistryIn } from "../_ns_registry.ts";

/** What {@linkcode Link.check} measured. */
export interface LinkCheck {
  /** Median round trip of `GET /v2/` through the delay line, ms. */
  rttMs: number;
  /** Rate of a 64 MiB Range GET through the delay line, Mbit/s. */
  mbitPerS: number;
}

/** A running link; `close()` is idempotent and removes everything it made. */
export interface Link {
  /** `127.0.0.1:PORT`: the registry through the delay line. */
  readonly host: string;
  /** `ADDR:5000`: the registry straight, for pushes and conversion. */
  readonly direct: string;
  readonly line: DelayLine;
  /** Shapes the registry's egress to `mbit` Mbit/s. */
  setRate(mbit: number): Promise<void>;
  /** Measures round trip and rate, reading `blob` of `repo` for the rate. */
  check(repo: string, blob: string): Promise<LinkCheck>;
  close(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rangeRate(url: string): Promise<number> {
  const bytes = 64 << 20;
  const t0 = performance.now();
  const res = await fetch(url, { headers: { range: `bytes=0-${bytes - 1}` } });
  if (res.status !== 206) throw new Error(`GET ${url}: status ${res.status}, expected 206`);
  const got = (await res.arrayBuffer()).byteLength;
  return (got * 8) / ((performance.now() - t0) / 1000) / 1e6;
}

/**
 * Starts registry, namespace and delay line in `dir` (addresses
 * 10.213.9.1/.2, apart from other benchmarks' default) with `rttMs` of
 * added round trip; on failure removes what it made.
 */
export async function openLink(dir: string, rttMs: number): Promise<Link> {
  const storage = `${dir}/registry`;
  let mounted = false;
  let netns: Netns | undefined;
  let registry: NsRegistry | undefined;
  let line: DelayLine | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await line?.close();
    await registry?.stop().catch((e) => console.error(e.message));
    await netns?.close();
    if (mounted) await run("umount", [storage]).catch((e) => console.error(e.message));
  };
  try {
    await Deno.mkdir(storage, { recursive: true });
    await run("mount", ["-t", "tmpfs", "-o", "size=6g", "tmpfs", storage]);
    mounted = true;
    netns = await createNetns("10.213.9.1", "10.213.9.2");
    registry = await startRegistryIn(netns, storage, 5000);
    line = await startDelayLine({ hostname: netns.nsAddr, port: 5000 });
    line.oneWayMs = rttMs / 2;
  } catch (err) {
    await close();
    throw err;
  }
  const ns = netns;
  const host = `127.0.0.1:${line.port}`;
  return {
    host,
    direct: `${ns.nsAddr}:5000`,
    line,
    async setRate(mbit: number) {
      // tbf needs a bucket of at least one timer tick of data at the rate.
      const burst = Math.max(64 << 10, Math.ceil((mbit * 1e6) / 8 / 100));
      await run(
        "ip",
        ns.execArgs([
          "tc",
          "qdisc",
          "replace",
          "dev",
          ns.nsDev,
          "root",
          "tbf",
          "rate",
          `${mbit}mbit`,
          "burst",
          String(burst),
          "latency",
          "100ms",
        ]),
      );
    },
    async check(repo: string, blob: string) {
      const rttMs = median(await pingRegistry({ hostname: "127.0.0.1", port: line.port }, 20));
      const mbitPerS = await rangeRate(`http://${host}/v2/${repo}/blobs/${blob}`);
      return { rttMs, mbitPerS };
    },
    close,
  };
}
