/**
 * Benchmark helper: a network namespace of the benchmark's own, joined to
 * the host by a veth pair on a private /30, so a server can run "elsewhere"
 * while every packet stays on this machine. Needs root and `ip`.
 *
 * @module
 */

/** A namespace and its veth pair; `close()` is idempotent. */
export interface Netns {
  /** `obd-bench-<pid>` */
  readonly name: string;
  /** Address of the host end of the veth pair. */
  readonly hostAddr: string;
  /** Address of the end inside the namespace. */
  readonly nsAddr: string;
  /** Name of the host end of the veth pair. */
  readonly hostDev: string;
  /** Name of the end inside the namespace. */
  readonly nsDev: string;
  /** `ip netns exec NAME` + `cmd`, as arguments for `Deno.Command("ip", …)`. */
  execArgs(cmd: string[]): string[];
  close(): Promise<void>;
}

async function ip(args: string[]): Promise<string> {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`ip ${args.join(" ")}: ${text.trim()}`);
  return text;
}

/**
 * Creates namespace `obd-bench-<pid>` with a veth pair: `hostAddr`/30 on the
 * host end, `nsAddr`/30 inside, loopback up. Checks that the host routes
 * `nsAddr` through the veth and nowhere else before returning; on any
 * failure removes what it made.
 */
export async function createNetns(
  hostAddr = "10.213.0.1",
  nsAddr = "10.213.0.2",
): Promise<Netns> {
  const name = `obd-bench-${Deno.pid}`;
  const vh = `obdh${Deno.pid}`.slice(0, 15);
  const vn = `obdn${Deno.pid}`.slice(0, 15);
  const inside = (cmd: string[]) => ["netns", "exec", name, "ip", ...cmd];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await ip(["link", "del", vh]).catch(() => {}); // removes both ends
    await ip(["netns", "del", name]).catch((e) => console.error(e.message));
  };
  try {
    await ip(["netns", "add", name]);
    await ip(["link", "add", vh, "type", "veth", "peer", "name", vn]);
    await ip(["link", "set", vn, "netns", name]);
    await ip(["addr", "add", `${hostAddr}/30`, "dev", vh]);
    await ip(["link", "set", vh, "up"]);
    await ip(inside(["addr", "add", `${nsAddr}/30`, "dev", vn]));
    await ip(inside(["link", "set", vn, "up"]));
    await ip(inside(["link", "set", "lo", "up"]));
    const route = await ip(["route", "get", nsAddr]);
    if (!route.includes(`dev ${vh}`)) {
      throw new Error(`${nsAddr} is not routed via ${vh}: ${route}`);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    name,
    hostAddr,
    nsAddr,
    hostDev: vh,
    nsDev: vn,
    execArgs: (cmd) => ["netns", "exec", name, ...cmd],
    close,
  };
}
