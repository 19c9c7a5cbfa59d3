/**
 * A loopback TCP port that was free a moment ago, for a child daemon that
 * must be told its port up front (it may be taken again before the daemon
 * binds it; the caller's wait-until-listening catches that).
 */
export function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}
