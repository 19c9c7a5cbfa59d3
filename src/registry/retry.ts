/** How hard the client tries before it reports a registry as unavailable. */
export interface RetryOptions {
  /** Attempts in total, the first included (default 4). */
  attempts?: number;
  /** Delay before the first retry; doubles each time (default 200 ms). */
  baseDelayMs?: number;
  /** Cap of one delay, also of a `Retry-After` the client honours (default 5 s). */
  maxDelayMs?: number;
  /**
   * An attempt is aborted and retried when no byte arrives for this long,
   * from sending the request to the last body byte (default 30 s, upstream's
   * registry timeout, spec §6).
   */
  idleTimeoutMs?: number;
}

/** {@linkcode RetryOptions} with every default applied. */
export type RetryPolicy = Required<RetryOptions>;

/** Fills in the defaults of {@linkcode RetryOptions}. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    attempts: Math.max(1, options.attempts ?? 4),
    baseDelayMs: options.baseDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 5_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
  };
}

/**
 * Delay before retry number `retry` (1 = first retry): exponential backoff
 * with "equal jitter" — a uniform draw from the upper half of the step, so
 * clients that failed together do not return together, yet each waits
 * a little. A server's `Retry-After` (seconds) wins when it is longer, up to
 * the cap.
 *
 * @param random source of [0, 1) numbers (tests pass a fixed one)
 */
export function backoffDelay(
  retry: number,
  policy: RetryPolicy,
  retryAfter?: string | null,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = step / 2 + random() * step / 2;
  const asked = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
  return Math.min(policy.maxDelayMs, Math.max(jittered, asked));
}

/** Statuses worth another attempt: timeouts, throttling and server faults. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
