/** Clocks for tests: one moved by hand, one running faster than real time. */
import type { Clock } from '../../../src/providers/apns/clock.ts';

export interface ManualClock extends Clock {
  advance(ms: number): void;
}

/** Time moves only by `advance`; sleeps resolve on the next turn (no test here waits on them). */
export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let now = start;
  return {
    now: () => now,
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
    advance(ms) {
      now += ms;
    },
  };
}

/** Virtual time running `factor` times faster than the wall clock, for minutes-long scenarios. */
export function fastClock(factor: number): Clock {
  const realStart = Date.now();
  const virtualStart = Date.UTC(2026, 0, 1);
  return {
    now: () => virtualStart + (Date.now() - realStart) * factor,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / factor))),
  };
}
