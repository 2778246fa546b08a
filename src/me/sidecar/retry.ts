/** Retry tuning of the sidecar client; every field has a default so callers override only what they need. */
export interface RetryPolicy {
  /** Retries after the first attempt (so at most `maxRetries + 1` requests). */
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is raised instead. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxRetries: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
});

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** True for the statuses worth retrying: 408, 429 and any 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * "Equal jitter" exponential backoff: half of the exponential step is fixed, half random, so concurrent
 * clients spread out without any retry coming back immediately.
 */
export function backoffDelayMs(
  retryIndex: number,
  policy: RetryPolicy,
  random: () => number,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retryIndex);
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** Parses `Retry-After` (delta-seconds or HTTP-date) into milliseconds; undefined when absent or invalid. */
export function parseRetryAfterMs(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
