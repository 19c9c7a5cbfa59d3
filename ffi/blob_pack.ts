/**
 * `native/src/blob_pack.h`: an open writable layer committed into a plain
 * LSMT file, and a committed LSMT layer compressed into the tar-wrapped ZFile a
 * registry stores, and hashed — each on a worker thread.
 *
 * Ownership: strings and buffers are read or written only until the
 * returned promise settles; C keeps no pointer.
 *
 * @module
 */

import { check } from "./errors.ts";
import { cString, lazyLibrary } from "./library.ts";
import { u64At, view } from "./struct.ts";
import type { ZfileAlgorithm } from "./zfile.ts";

const lib = lazyLibrary({
  blob_commit: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "buffer", "usize"],
    result: "i32",
    nonblocking: true,
  },
  blob_pack: {
    parameters: ["buffer", "buffer", "u8", "u32", "buffer", "buffer", "usize"],
    result: "i32",
    nonblocking: true,
  },
});

/** `ZFILE_ALGO_*` of `native/src/zfile.h`. */
const ALGO_CODE: Record<ZfileAlgorithm, number> = { lz4: 1, zstd: 2 };
const DETAIL_MAX = 512;

/**
 * Packs the committed layer `input` into `output` (ZFile with `algorithm`
 * and `blockSize`, block CRCs, one-file tar) on a worker thread.
 *
 * @returns the blob's `sha256:` digest and size
 * @throws {InvalidArgumentError} for a bad block size; the I/O error kinds
 *   otherwise (the output is then removed)
 */
export async function packBlob(
  input: string,
  output: string,
  algorithm: ZfileAlgorithm,
  blockSize: number,
): Promise<{ digest: string; size: number }> {
  const args = { input: cString(input), output: cString(output) };
  const result = new Uint8Array(40);
  const detail = new Uint8Array(DETAIL_MAX);
  const rc = await lib().blob_pack(
    args.input,
    args.output,
    ALGO_CODE[algorithm],
    blockSize,
    result,
    detail,
    BigInt(DETAIL_MAX),
  );
  // The worker thread read these until now: keep them alive that long.
  void args;
  if (rc < 0) {
    const end = detail.indexOf(0);
    check(rc, `pack ${input}`, new TextDecoder().decode(detail.subarray(0, end)));
  }
  const hex = Array.from(result.subarray(8, 40), (b) => b.toString(16).padStart(2, "0")).join("");
  return { digest: `sha256:${hex}`, size: u64At(view(result), 0) };
}

/**
 * Commits the writable layer `upper` — borrowed from the image it was
 * applied through, which must stay open and unwritten until this settles —
 * into the plain LSMT file `output` with these uuids (spec §2.5), on a
 * worker thread and without fsync: the output is a scratch file of the
 * conversion.
 *
 * @throws the I/O error kinds (the output is then removed)
 */
export async function commitScratch(
  upper: Deno.PointerObject,
  output: string,
  uuids: { uuid?: string; parentUuid?: string },
): Promise<void> {
  const out = cString(output);
  const uuid = uuids.uuid === undefined ? null : cString(uuids.uuid);
  const parent = uuids.parentUuid === undefined ? null : cString(uuids.parentUuid);
  const detail = new Uint8Array(DETAIL_MAX);
  const rc = await lib().blob_commit(upper, out, uuid, parent, detail, BigInt(DETAIL_MAX));
  // The worker thread read these until now: keep them alive that long.
  void [out, uuid, parent];
  if (rc < 0) {
    const end = detail.indexOf(0);
    check(rc, `commit ${output}`, new TextDecoder().decode(detail.subarray(0, end)));
  }
}
