/**
 * Retry delays for the embedded queue. "Equal jitter": half the exponential step is fixed, half is
 * random, so retries of a batch that failed together (an APNs outage) spread out instead of
 * returning in lock-step, while each retry still waits at least half its step.
 */
export interface RetryPolicy {
  readonly retryDelayMs: number;
  readonly retryBackoff: boolean;
  readonly maxRetryDelayMs: number;
}

/**
 * @param retryCount failed attempts so far, including the one that just failed (1 after the first).
 * @param random a number in [0, 1); injectable so tests can pin it.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  retryCount: number,
  random: number = Math.random(),
): number {
  if (!policy.retryBackoff) return Math.min(policy.retryDelayMs, policy.maxRetryDelayMs);
  const step = policy.retryDelayMs * 2 ** Math.min(Math.max(retryCount - 1, 0), 30);
  const capped = Math.min(step, policy.maxRetryDelayMs);
  return Math.round(capped / 2 + (capped / 2) * random);
}
