import type { SchedulerClock } from '../../src/feedback/schedule.ts';

/** A fake clock whose timers fire only when the test advances time. */
export class FakeClock implements SchedulerClock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(now: number) {
    this.#now = now;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.#seq += 1;
    this.#timers.set(this.#seq, { at: this.#now + ms, fn });
    return this.#seq;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Fires timers in time order up to `target`, letting the schedulers finish each pass. */
  async advanceTo(target: number, settle: () => Promise<void>): Promise<void> {
    for (let guard = 0; guard < 100_000; guard++) {
      let next: number | undefined;
      for (const timer of this.#timers.values())
        if (timer.at <= target && (next === undefined || timer.at < next)) next = timer.at;
      if (next === undefined) break;
      this.#now = next;
      const due = [...this.#timers.entries()].filter(([, t]) => t.at === next);
      for (const [id] of due) this.#timers.delete(id);
      for (const [, timer] of due) timer.fn();
      await settle();
    }
    this.#now = target;
  }
}
