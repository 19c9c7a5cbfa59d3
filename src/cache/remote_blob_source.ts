import { type FetchBridge, openFetchBridge } from "../../ffi/fetch.ts";
import { InvalidArgumentError, NotFoundError } from "../errors.ts";

/**
 * Reads `length` bytes of blob `digest` at `offset` into `into` (exactly
 * `length` bytes long), e.g. with an HTTP Range GET. Resolves once all of
 * `into` is written; throws otherwise. Must stop writing `into` when it
 * settles or when `signal` aborts.
 */
export type FetchRange = (
  digest: string,
  offset: number,
  length: number,
  into: Uint8Array<ArrayBuffer>,
  signal: AbortSignal,
) => Promise<void>;

/** Counters kept on the TypeScript side of the bridge. */
export interface SourceStats {
  /** Requests served, failed ones included. */
  requests: number;
  /** Bytes handed to native code by successful requests. */
  bytesFetched: number;
  /** Requests whose fetchRange threw. */
  failures: number;
}

/** Options of {@linkcode openRemoteBlobSource}. */
export interface RemoteBlobSourceOptions {
  /** Requests in flight at once (native slots of 4 MiB each); default 16. */
  maxInflight?: number;
}

/**
 * Where cache misses go: a fetch bridge whose requests name blobs by number,
 * mapped here to a digest and the caller's {@linkcode FetchRange}.
 */
export interface RemoteBlobSource {
  /** The native bridge, for opening cached blobs. */
  readonly bridge: FetchBridge;
  /**
   * Registers `digest` (again: replaces its fetchRange) and returns its blob id.
   *
   * @throws {InvalidArgumentError} when the source is closed
   */
  add(digest: string, fetchRange: FetchRange): number;
  /** Counters since open. */
  stats(): SourceStats;
  /**
   * Aborts and waits for running fetches, then destroys the bridge. Close
   * every image, layer and blob file that reads through it first. Idempotent.
   */
  close(): Promise<void>;
}

interface Entry {
  digest: string;
  fetchRange: FetchRange;
}

class Source implements RemoteBlobSource {
  readonly bridge: FetchBridge;
  readonly #byId = new Map<number, Entry>();
  readonly #idOf = new Map<string, number>();
  readonly #stats: SourceStats = { requests: 0, bytesFetched: 0, failures: 0 };
  #closed = false;

  constructor(maxInflight: number) {
    this.bridge = openFetchBridge(
      (id, offset, into, signal) => this.#serve(id, offset, into, signal),
      maxInflight,
    );
  }

  add(digest: string, fetchRange: FetchRange): number {
    if (this.#closed) {
      throw new InvalidArgumentError(`remote blob source is closed (adding ${digest})`);
    }
    let id = this.#idOf.get(digest);
    if (id === undefined) {
      id = this.#idOf.size + 1;
      this.#idOf.set(digest, id);
    }
    this.#byId.set(id, { digest, fetchRange });
    return id;
  }

  stats(): SourceStats {
    return { ...this.#stats };
  }

  async #serve(
    id: number,
    offset: number,
    into: Uint8Array<ArrayBuffer>,
    signal: AbortSignal,
  ): Promise<number> {
    const entry = this.#byId.get(id);
    this.#stats.requests++;
    try {
      if (!entry) throw new NotFoundError(`no blob registered as id ${id}`);
      await entry.fetchRange(entry.digest, offset, into.byteLength, into, signal);
    } catch (e) {
      this.#stats.failures++;
      throw e;
    }
    this.#stats.bytesFetched += into.byteLength;
    return into.byteLength;
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.bridge.close();
  }
}

/**
 * Opens a source of remote blob bytes for the blob cache.
 *
 * @throws {InvalidArgumentError} for a bad maxInflight
 */
export function openRemoteBlobSource(options: RemoteBlobSourceOptions = {}): RemoteBlobSource {
  const maxInflight = options.maxInflight ?? 16;
  if (!Number.isInteger(maxInflight) || maxInflight < 1 || maxInflight > 1024) {
    throw new InvalidArgumentError(`remote blob source: maxInflight ${maxInflight} is not 1..1024`);
  }
  return new Source(maxInflight);
}
