/** What `ctr` printed and its exit code. */
export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode runCtr}. */
export interface CtrOptions {
  /** Killed when this aborts (Ctrl-C of the demo). */
  signal?: AbortSignal;
  /** Killed after this long; default 120 s. */
  timeoutMs?: number;
}

/**
 * Runs `ctr --address ADDRESS --namespace NAMESPACE ARGS…` and returns
 * what it printed; a non-zero exit is a result, not an error.
 *
 * @throws {Deno.errors.NotFound} when ctr is not installed
 */
export async function runCtr(
  address: string,
  namespace: string,
  args: string[],
  options: CtrOptions = {},
): Promise<CtrResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 120_000);
  const out = await new Deno.Command("ctr", {
    args: ["--address", address, "--namespace", namespace, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}
