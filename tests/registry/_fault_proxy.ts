/**
 * Test helper: a TCP proxy in front of the real registry that injects the
 * faults a healthy registry never shows — a connection dropped in the middle
 * of a response, a stall, a flipped byte, a `Range` header that never
 * reaches the server. Faults are armed per request: the next request whose
 * head contains `match` gets it.
 *
 * @module
 */

/** A fault for the response to one matching request. */
export interface Fault {
  /**
   * `drop`: close both sides; `stall`: stop forwarding; `flip`: invert one
   * byte; `strip-range`: rename the request's `Range` header; `503`: answer
   * 503 without asking the registry.
   */
  kind: "drop" | "stall" | "flip" | "strip-range" | "503";
  /** Case-insensitive text the request head must contain (default `range:`). */
  match?: string;
  /** Response bytes (headers included) forwarded before the fault (drop/stall/flip). */
  afterBytes?: number;
}

/** A running proxy. */
export interface FaultProxy {
  port: number;
  host: string;
  /** Faults that fired so far. */
  readonly fired: number;
  /** Queues a fault for the next matching request. */
  arm(fault: Fault): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to 127.0.0.1:`targetPort`. */
export function startFaultProxy(targetPort: number): FaultProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const queue: Fault[] = [];
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  let fired = 0;

  const serve = async (client: Deno.Conn) => {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      client.close();
      return;
    }
    conns.add(client);
    conns.add(server);
    let current: Fault | undefined; // fault for the response in flight
    let sent = 0;
    const closeBoth = () => {
      for (const c of [client, server]) {
        if (conns.delete(c)) {
          try {
            c.close();
          } catch { /* closed */ }
        }
      }
    };
    const up = (async () => {
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await client.read(buf).catch(() => null);
        if (n === null) break;
        let chunk = buf.slice(0, n);
        const head = new TextDecoder().decode(chunk).toLowerCase();
        const i = queue.findIndex((f) => head.includes((f.match ?? "range:").toLowerCase()));
        if (i >= 0) {
          current = queue.splice(i, 1)[0];
          sent = 0;
          fired++;
          if (current.kind === "503") {
            current = undefined;
            const reply = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
            await writeAll(client, new TextEncoder().encode(reply)).catch(() => {});
            continue;
          }
          if (current.kind === "strip-range") {
            chunk = new TextEncoder().encode(
              new TextDecoder().decode(chunk).replace(/\r\nrange:/i, "\r\nx-no-range:"),
            );
            current = undefined;
          }
        }
        await writeAll(server, chunk).catch(() => {});
      }
      closeBoth();
    })();
    const down = (async () => {
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await server.read(buf).catch(() => null);
        if (n === null) break;
        const chunk = buf.slice(0, n);
        const f = current;
        if (f && sent + n > (f.afterBytes ?? 0)) {
          const keep = Math.max(0, (f.afterBytes ?? 0) - sent);
          if (f.kind === "flip") {
            chunk[keep] ^= 0xff;
            current = undefined;
          } else {
            await writeAll(client, chunk.subarray(0, keep)).catch(() => {});
            if (f.kind === "drop") break;
            // stall: swallow everything until the client gives up
            for (;;) if ((await server.read(buf).catch(() => null)) === null) break;
            break;
          }
        }
        sent += n;
        await writeAll(client, chunk).catch(() => {});
      }
      closeBoth();
    })();
    await Promise.all([up, down]);
  };

  const accepting = (async () => {
    for await (const conn of listener) tasks.push(serve(conn));
  })().catch(() => {});

  return {
    port,
    host: `127.0.0.1:${port}`,
    get fired() {
      return fired;
    },
    arm(fault) {
      queue.push(fault);
    },
    async close() {
      listener.close();
      await accepting;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      conns.clear();
      await Promise.all(tasks);
    },
  };
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}
