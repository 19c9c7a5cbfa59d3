/**
 * A remote blob served from a local golden file, standing in for the
 * registry's ranged reads: counts what it serves and can be told to fail,
 * corrupt bytes or stall.
 *
 * @module
 */

import type { FetchRange } from "../../src/cache/mod.ts";
import { vector } from "../_helpers.ts";

/** The golden layer blob: digest and bytes of `overlaybd.commit`. */
export const COMMIT_DIGEST =
  "sha256:854cbd1b4e31d81accc7d38358f20af6d4d5f4fd8cbfecb5aa7eda8b9a590489";

/** What the served blob does on its next requests. */
export type Fault = "none" | "reject" | "corrupt" | "stall";

/** A FetchRange over a file's bytes, with counters and fault injection. */
export class GoldenBlob {
  readonly bytes: Uint8Array<ArrayBuffer>;
  requests = 0;
  bytesServed = 0;
  fault: Fault = "none";

  constructor(bytes: Uint8Array<ArrayBuffer>) {
    this.bytes = bytes;
  }

  get size(): number {
    return this.bytes.byteLength;
  }

  /** The FetchRange to give the cache. */
  readonly fetchRange: FetchRange = async (_digest, offset, length, into, signal) => {
    this.requests++;
    await Promise.resolve();
    if (this.fault === "reject") throw new Error(`injected failure at ${offset}`);
    if (this.fault === "stall") {
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      throw new Error("stalled");
    }
    into.set(this.bytes.subarray(offset, offset + length));
    if (this.fault === "corrupt") { for (let i = 0; i < length; i += 97) into[i] ^= 0x5a; }
    this.bytesServed += length;
  };
}

/** The golden `overlaybd.commit` blob and its merged view `view.raw`. */
export async function loadGolden(): Promise<{ blob: GoldenBlob; view: Uint8Array<ArrayBuffer> }> {
  const blob = new GoldenBlob(await Deno.readFile(vector("overlaybd.commit")));
  return { blob, view: await Deno.readFile(vector("view.raw")) };
}
