/**
 * Benchmark helper: a userspace delay line (this kernel has no `tc netem`).
 * A TCP proxy on 127.0.0.1 that holds every chunk for `oneWayMs` in each
 * direction before passing it on, in order, so a request/response costs
 * 2 × `oneWayMs` more. TCP setup is emulated too: the first chunk a client
 * sends on a new connection waits one extra round trip, as the handshake
 * would have made it. It also logs the HTTP/1.1 requests it carries (plain
 * HTTP only) and counts bytes, so a run can tell where its round trips go.
 *
 * @module
 */

/** One HTTP request seen going upstream; times in ms since the last reset. */
export interface LoggedRequest {
  /** When the proxy received it from the client. */
  at: number;
  /** Connection number (1, 2, … since open). */
  conn: number;
  method: string;
  path: string;
  /** `[first, last]` of a `Range: bytes=first-last` header. */
  range?: [number, number];
  /** When the proxy passed it on to the server (after the delay). */
  sentAt?: number;
  /** When the first byte of the answer came back from the server. */
  serverAt?: number;
  /** When the last byte of the answer was passed on to the client (no pipelining here). */
  doneAt?: number;
}

/** A running delay line; `close()` is idempotent. */
export interface DelayLine {
  readonly port: number;
  /** Delay each way, in ms; changes apply to chunks received afterwards. */
  oneWayMs: number;
  /** Requests since the last reset. */
  readonly requests: LoggedRequest[];
  /** Connections opened since the last reset. */
  readonly connections: number;
  /** Bytes sent downstream (responses, headers included) since the last reset. */
  readonly bytesDown: number;
  /** Starts a new log. */
  reset(): void;
  close(): Promise<void>;
}

const REQUEST_LINE = /^(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.[01]\r\n/gm;
const RANGE = /^range: *bytes=(\d+)-(\d+)\r\n/im;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How late timers fire here, in ms (median of 20 sleeps of 5 ms); Deno's
 * fire about 1–1.5 ms late, which would add up to 3 ms to every round trip.
 */
async function timerLateness(): Promise<number> {
  const late: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await sleep(5);
    late.push(performance.now() - t0 - 5);
  }
  late.sort((a, b) => a - b);
  return Math.max(0, late[10]);
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

/**
 * Copies `from` to `to`, each chunk leaving no earlier than its arrival +
 * `delay(first)`. Reading and writing run apart, so delays overlap as on a
 * wire instead of adding up. `onRead` sees each chunk as it arrives and
 * tags it; `onSent` gets the tag once the chunk is passed on.
 */
async function pump<T>(
  from: Deno.Conn,
  to: Deno.Conn,
  delay: (first: boolean) => number,
  lateness: number,
  onRead: (chunk: Uint8Array) => T,
  onSent: (tag: T) => void,
): Promise<void> {
  const queue: { due: number; data: Uint8Array; tag: T }[] = [];
  let ended = false;
  let wake: () => void = () => {};
  const reader = (async () => {
    try {
      for (let first = true;; first = false) {
        const buf = new Uint8Array(65536);
        const n = await from.read(buf);
        if (n === null) break;
        const data = buf.subarray(0, n);
        queue.push({ due: performance.now() + delay(first), data, tag: onRead(data) });
        wake();
      }
    } catch { /* reset by peer: end this direction */ }
    ended = true;
    wake();
  })();
  try {
    for (;;) {
      const item = queue.shift();
      if (!item) {
        if (ended) break;
        await new Promise<void>((r) => wake = r);
        continue;
      }
      const wait = item.due - performance.now();
      if (wait > lateness) await sleep(wait - lateness);
      await writeAll(to, item.data);
      onSent(item.tag);
    }
    await to.closeWrite();
  } catch { /* the other side is gone */ }
  await reader;
}

class Line implements DelayLine {
  readonly port: number;
  oneWayMs = 0;
  requests: LoggedRequest[] = [];
  connections = 0;
  bytesDown = 0;
  readonly #listener: Deno.Listener;
  readonly #target: Deno.ConnectOptions;
  readonly #lateness: number;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  #connNo = 0;
  #epoch = performance.now();
  #accepting: Promise<void>;
  #closed = false;

  constructor(target: Deno.ConnectOptions, lateness: number) {
    this.#target = target;
    this.#lateness = lateness;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  reset(): void {
    this.requests = [];
    this.connections = 0;
    this.bytesDown = 0;
    this.#epoch = performance.now();
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) {
        const task = this.#serve(client).finally(() => this.#tasks.delete(task));
        this.#tasks.add(task);
      }
    } catch { /* listener closed */ }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    const conn = ++this.#connNo;
    this.connections++;
    let server: Deno.Conn;
    try {
      server = await Deno.connect(this.#target);
    } catch {
      client.close();
      return;
    }
    for (const c of [client, server]) {
      (c as Deno.TcpConn).setNoDelay(true);
      this.#conns.add(c);
    }
    let current: LoggedRequest | undefined; // the request being answered
    const now = () => performance.now() - this.#epoch;
    const parseRequests = (chunk: Uint8Array): LoggedRequest[] => {
      const text = new TextDecoder("latin1").decode(chunk);
      const found: LoggedRequest[] = [];
      for (const m of text.matchAll(REQUEST_LINE)) {
        const r = RANGE.exec(text.slice(m.index));
        const range: [number, number] | undefined = r ? [Number(r[1]), Number(r[2])] : undefined;
        found.push({ at: now(), conn, method: m[1], path: m[2], range });
      }
      this.requests.push(...found);
      return found;
    };
    const oneWay = () => this.oneWayMs;
    await Promise.all([
      pump(
        client,
        server,
        (first) => oneWay() + (first ? 2 * oneWay() : 0),
        this.#lateness,
        parseRequests,
        (found) => {
          for (const r of found) {
            r.sentAt = now();
            current = r;
          }
        },
      ),
      pump(server, client, oneWay, this.#lateness, (chunk) => {
        this.bytesDown += chunk.length;
        if (current && current.serverAt === undefined) current.serverAt = now();
      }, () => {
        if (current) current.doneAt = now();
      }),
    ]);
    for (const c of [client, server]) {
      if (this.#conns.delete(c)) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
  }
}

/**
 * Starts a delay line on 127.0.0.1 (a free port) forwarding to `target`,
 * after measuring how late timers fire so that delays come out on time.
 */
export async function startDelayLine(target: Deno.ConnectOptions): Promise<DelayLine> {
  return new Line(target, await timerLateness());
}
