import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/queue/backoff.ts';

describe('retryDelayMs', () => {
  const policy = { retryDelayMs: 1000, retryBackoff: true, maxRetryDelayMs: 60_000 };

  it('doubles the step per retry, half fixed and half jitter', () => {
    expect(retryDelayMs(policy, 1, 0)).toBe(500);
    expect(retryDelayMs(policy, 1, 0.999_999)).toBe(1000);
    expect(retryDelayMs(policy, 2, 0)).toBe(1000);
    expect(retryDelayMs(policy, 3, 0.5)).toBe(3000);
  });

  it('caps at maxRetryDelayMs', () => {
    expect(retryDelayMs(policy, 30, 0.999_999)).toBe(60_000);
    expect(retryDelayMs(policy, 10_000, 0)).toBe(30_000);
  });

  it('is the fixed delay without backoff', () => {
    expect(retryDelayMs({ ...policy, retryBackoff: false }, 5, 0.7)).toBe(1000);
  });

  it('stays within [step/2, step] for any retry and any jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, r) => {
          const step = Math.min(1000 * 2 ** Math.min(n - 1, 30), 60_000);
          const delay = retryDelayMs(policy, n, r);
          return delay >= step / 2 && delay <= step;
        },
      ),
    );
  });
});
