/**
 * The content store of containerd: blob metadata and labels, streaming
 * writes (stat, 1 MiB chunks at offsets, commit with size, digest and
 * labels), reads and deletes.
 *
 * @module
 */

import { AlreadyExistsError, CorruptDataError } from "../errors.ts";
import {
  Content,
  type Info as ContentInfo,
  WriteAction,
} from "./gen/containerd/services/content/v1/content_pb.ts";
import { openBidi } from "./_bidi.ts";
import { type Channel, type Labels, present, serverStream, unary } from "./_rpc.ts";

/** Largest data chunk of one Write message (containerd's own clients use 1 MiB). */
export const WRITE_CHUNK = 1 << 20;

/** containerd's content API. */
export interface ContentClient {
  /** Metadata of a committed blob; NotFoundError when it is absent. */
  info(digest: string): Promise<ContentInfo>;
  /** Sets labels of blob `digest`; `fieldpaths` such as `labels.<key>` limit what changes. */
  update(digest: string, labels: Labels, fieldpaths?: string[]): Promise<ContentInfo>;
  /**
   * Stores `bytes` as blob `expected` under ingest `ref`, with `labels`;
   * returns normally when the store has the blob already.
   */
  writeBlob(ref: string, bytes: Uint8Array, expected: string, labels?: Labels): Promise<void>;
  /** The whole blob, or `size` bytes from `offset`. */
  read(digest: string, offset?: number, size?: number): Promise<Uint8Array>;
  /** Every blob matching any of `filters` (none: all). */
  list(filters?: string[]): AsyncIterable<ContentInfo>;
  delete(digest: string): Promise<void>;
}

/** The content client on `channel`. */
export function contentClient(channel: Channel): ContentClient {
  return {
    async info(digest) {
      const res = await unary(channel, Content.method.info, { digest }, `info of blob ${digest}`);
      return present(res.info, "content info");
    },
    async update(digest, labels, fieldpaths = []) {
      const req = {
        info: { digest, labels },
        updateMask: fieldpaths.length ? { paths: fieldpaths } : undefined,
      };
      const res = await unary(channel, Content.method.update, req, `update blob ${digest}`);
      return present(res.info, "content info");
    },
    async writeBlob(ref, bytes, expected, labels = {}) {
      try {
        await writeStream(channel, ref, bytes, expected, labels);
      } catch (err) {
        // containerd refuses to ingest a digest it has: the blob is there.
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
    },
    async read(digest, offset = 0, size = 0) {
      const parts: Uint8Array[] = [];
      const req = { digest, offset: BigInt(offset), size: BigInt(size) };
      for await (
        const m of serverStream(channel, Content.method.read, req, `read blob ${digest}`)
      ) {
        parts.push(m.data);
      }
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
      return out;
    },
    async *list(filters = []) {
      const context = `list blobs (filters ${JSON.stringify(filters)})`;
      for await (const batch of serverStream(channel, Content.method.list, { filters }, context)) {
        yield* batch.info;
      }
    },
    async delete(digest) {
      await unary(channel, Content.method.delete, { digest }, `delete blob ${digest}`);
    },
  };
}

/** One Write stream: STAT, WRITE chunks, COMMIT; AlreadyExists propagates. */
async function writeStream(
  channel: Channel,
  ref: string,
  bytes: Uint8Array,
  expected: string,
  labels: Labels,
): Promise<void> {
  const context = `write blob ${expected} (ref ${ref}, ${bytes.length} bytes)`;
  const call = openBidi(channel, Content.method.write, context);
  const total = BigInt(bytes.length);
  try {
    // STAT first: containerd answers AlreadyExists here when it has the blob,
    // before a byte is sent.
    await call.send({ action: WriteAction.STAT, ref, total, expected });
    await call.receive();
    // Writing at offset 0 also restarts a stale ingest left under this ref.
    for (let offset = 0; offset < bytes.length; offset += WRITE_CHUNK) {
      const data = bytes.subarray(offset, offset + WRITE_CHUNK);
      await call.send({ action: WriteAction.WRITE, ref, offset: BigInt(offset), data });
    }
    await call.send({ action: WriteAction.COMMIT, ref, total, expected, offset: total, labels });
    call.end();
    let last;
    for (let r = await call.receive(); r !== undefined; r = await call.receive()) last = r;
    if (last?.action !== WriteAction.COMMIT || last.digest !== expected) {
      throw new CorruptDataError(`${context}: commit answered ${last?.digest || "nothing"}`);
    }
  } finally {
    call.cancel();
  }
}
