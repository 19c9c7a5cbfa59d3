/**
 * A client of containerd's gRPC API on its unix socket, bound to one
 * namespace: snapshots, content, images, leases.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { containerdAddress, containerdNamespace } from "./address.ts";
import { type ContentClient, contentClient } from "./content.ts";
import { type ImagesClient, imagesClient } from "./images.ts";
import { type LeasesClient, leasesClient } from "./leases.ts";
import { type SnapshotsClient, snapshotsClient } from "./snapshots.ts";
import type { Channel } from "./_rpc.ts";

/**
 * containerd for one (socket, namespace). Every call sends the namespace;
 * calls through a {@linkcode ContainerdClient.withLease} view also send the
 * lease, so what they create is kept until the lease ends.
 *
 * Errors are our kinds: NotFoundError, AlreadyExistsError,
 * FailedPreconditionError, InvalidArgumentError, UnsupportedError
 * (UNIMPLEMENTED), UnavailableError (no containerd on the socket), each with
 * containerd's message after what was being done.
 */
export interface ContainerdClient {
  /** The socket path. */
  readonly address: string;
  readonly namespace: string;
  /** The lease this view sends, if any. */
  readonly lease?: string;
  /** The snapshots API of one snapshotter (`overlayfs`, `native`, a proxy plugin). */
  snapshots(snapshotter: string): SnapshotsClient;
  readonly content: ContentClient;
  readonly images: ImagesClient;
  readonly leases: LeasesClient;
  /** A view on the same connection whose calls run within lease `id`. */
  withLease(id: string): ContainerdClient;
  /** Closes the connection (shared with every view); calling it again does nothing. */
  close(): void;
}

/** Options of {@linkcode openContainerdClient}. */
export interface ContainerdClientOptions {
  /** Socket path or `unix://` URL; default `containerdAddress()`. */
  address?: string;
  /** Default `containerdNamespace()`. */
  namespace?: string;
}

/** Largest message we accept from containerd (a List of many snapshots, say). */
const MAX_RECEIVE = 64 << 20;

/**
 * Opens a client of containerd; the connection is made on the first call.
 *
 * @example Stat a snapshot
 * ```ts ignore
 * const ctd = openContainerdClient({ namespace: "default" });
 * try {
 *   const info = await ctd.snapshots("overlayfs").stat("my-snapshot");
 * } finally {
 *   ctd.close();
 * }
 * ```
 */
export function openContainerdClient(options: ContainerdClientOptions = {}): ContainerdClient {
  const path = containerdAddress(options.address);
  const absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const connection = new Connection(
    new grpc.Client(`unix://${absolute}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": MAX_RECEIVE,
    }),
  );
  const channel = {
    grpc: connection.client,
    address: path,
    namespace: containerdNamespace(options.namespace),
  };
  return new Containerd(connection, channel);
}

/** Owns the grpc-js client that every view shares. */
class Connection {
  readonly client: grpc.Client;
  #closed = false;

  constructor(client: grpc.Client) {
    this.client = client;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.close();
  }
}

class Containerd implements ContainerdClient {
  readonly #connection: Connection;
  readonly #channel: Channel;
  readonly content: ContentClient;
  readonly images: ImagesClient;
  readonly leases: LeasesClient;

  constructor(connection: Connection, channel: Channel) {
    this.#connection = connection;
    this.#channel = channel;
    this.content = contentClient(channel);
    this.images = imagesClient(channel);
    this.leases = leasesClient(channel);
  }

  get address(): string {
    return this.#channel.address;
  }

  get namespace(): string {
    return this.#channel.namespace;
  }

  get lease(): string | undefined {
    return this.#channel.lease;
  }

  snapshots(snapshotter: string): SnapshotsClient {
    return snapshotsClient(this.#channel, snapshotter);
  }

  withLease(id: string): ContainerdClient {
    return new Containerd(this.#connection, { ...this.#channel, lease: id });
  }

  close(): void {
    this.#connection.close();
  }
}
