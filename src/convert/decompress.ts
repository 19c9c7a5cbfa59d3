import { CorruptDataError, FailedPreconditionError, NotFoundError } from "../errors.ts";

/** Compression of a layer tar, told by its first bytes. */
export type LayerCompression = "gzip" | "zstd" | "none";

const READ_CHUNK = 1 << 20;

/**
 * The compression `head` (the first bytes of a file) announces: gzip
 * (`1f 8b`), zstd (`28 b5 2f fd`), else none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(detectCompression(new Uint8Array([0x1f, 0x8b, 8])), "gzip");
 * assert.equal(detectCompression(new TextEncoder().encode("hello")), "none");
 * ```
 */
export function detectCompression(head: Uint8Array): LayerCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

/** `file` as a stream of 1 MiB reads; the file closes at the end or on cancel. */
function fileStream(file: Deno.FsFile): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream({
    async pull(ctrl) {
      const buf = new Uint8Array(READ_CHUNK);
      const n = await file.read(buf);
      if (n === null) {
        file.close();
        ctrl.close();
      } else {
        ctrl.enqueue(buf.subarray(0, n));
      }
    },
    cancel() {
      file.close();
    },
  }, { highWaterMark: 2 });
}

/** Re-throws a failure of `stream` as a CorruptDataError naming `what`. */
function guard(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
  what: string,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  return new ReadableStream({
    async pull(ctrl) {
      let r: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
      try {
        r = await reader.read();
      } catch (cause) {
        const msg = cause instanceof Error ? cause.message : String(cause);
        ctrl.error(new CorruptDataError(`${what}: ${msg}`, { cause }));
        return;
      }
      if (r.done) ctrl.close();
      else ctrl.enqueue(r.value);
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  });
}

/** `zstd -d` as a pipe: Debian's zstd CLI decodes faster than any JS port. */
function zstdStream(
  input: ReadableStream<Uint8Array<ArrayBuffer>>,
  what: string,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("zstd", {
      args: ["-d", "-c", "-q"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new FailedPreconditionError(`${what} is zstd-compressed and zstd is not installed`, {
        cause,
      });
    }
    throw cause;
  }
  input.pipeTo(child.stdin).catch(() => {/* a broken pipe shows in the exit status */});
  const stderr = new Response(child.stderr).text();
  const out = child.stdout.getReader();
  return new ReadableStream({
    async pull(ctrl) {
      const r = await out.read();
      if (!r.done) return ctrl.enqueue(r.value);
      const status = await child.status;
      if (status.success) return ctrl.close();
      ctrl.error(new CorruptDataError(`${what}: zstd: ${(await stderr).trim() || status.code}`));
    },
    async cancel() {
      try {
        child.kill();
      } catch { /* already gone */ }
      await out.cancel().catch(() => {});
      await child.status;
      await stderr.catch(() => {});
    },
  });
}

/**
 * Opens a layer file — a plain, gzip or zstd tar, told by its magic — as
 * the stream of its uncompressed tar bytes. A corrupt or truncated stream
 * fails with a {@linkcode CorruptDataError} when the damage is reached.
 *
 * @throws {NotFoundError} when the file does not exist
 * @throws {FailedPreconditionError} for zstd without the zstd program
 */
export async function openLayerTar(
  path: string,
): Promise<{ compression: LayerCompression; stream: ReadableStream<Uint8Array<ArrayBuffer>> }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`layer ${path} does not exist`, { cause });
    }
    throw cause;
  }
  try {
    const head = new Uint8Array(4);
    const n = (await file.read(head)) ?? 0;
    await file.seek(0, Deno.SeekMode.Start);
    const compression = detectCompression(head.subarray(0, n));
    const raw = fileStream(file);
    if (compression === "gzip") {
      const inflated = raw.pipeThrough(new DecompressionStream("gzip")) as ReadableStream<
        Uint8Array<ArrayBuffer>
      >;
      return { compression, stream: guard(inflated, `corrupt gzip stream in ${path}`) };
    }
    if (compression === "zstd") {
      return { compression, stream: zstdStream(raw, `corrupt zstd stream in ${path}`) };
    }
    return { compression, stream: raw };
  } catch (err) {
    try {
      file.close();
    } catch { /* closed by the stream */ }
    throw err;
  }
}
