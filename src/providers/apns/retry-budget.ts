/**
 * A retry budget (as in Finagle and gRPC): retries may add at most `ratio` of the first attempts
 * plus `floorPerSecond`, so while APNs answers 500/503 to everything the request rate stays close to
 * the offered load instead of multiplying by the attempt count. A retry that finds the budget empty
 * waits for it (FIFO) rather than failing: the notification is delivered once APNs recovers.
 */
import type { Clock } from './clock.ts';

export interface RetryBudgetOptions {
  readonly clock: Clock;
  /** Retries earned per first attempt. Default 0.1. */
  readonly ratio?: number;
  /** Retries allowed per second regardless of traffic. Default 10. */
  readonly floorPerSecond?: number;
  /** Most tokens saved up. Default 100. */
  readonly maxTokens?: number;
}

export class RetryBudget {
  readonly #clock: Clock;
  readonly #ratio: number;
  readonly #floor: number;
  readonly #max: number;
  #tokens: number;
  #updatedAt: number;
  #waiters: (() => void)[] = [];
  #waiterHead = 0;
  #timerRunning = false;
  #granted = 0;
  #waited = 0;

  constructor(options: RetryBudgetOptions) {
    this.#clock = options.clock;
    this.#ratio = options.ratio ?? 0.1;
    this.#floor = options.floorPerSecond ?? 10;
    this.#max = options.maxTokens ?? 100;
    this.#tokens = Math.min(this.#max, this.#floor);
    this.#updatedAt = this.#clock.now();
  }

  /** Retries granted so far, and how many of them had to wait for the budget. */
  stats(): { granted: number; waited: number; queued: number; tokens: number } {
    this.#refill();
    return { granted: this.#granted, waited: this.#waited, queued: this.#waiters.length - this.#waiterHead, tokens: this.#tokens };
  }

  /** A first attempt was made: it earns `ratio` of a retry. */
  deposit(): void {
    // Steady state: the budget is full and nobody waits; nothing to add (and no clock read per send).
    // Skipping the refill is exact: the refill after this adds time since a moment the budget was full.
    if (this.#tokens >= this.#max && this.#waiterHead === this.#waiters.length) return;
    this.#refill();
    this.#tokens = Math.min(this.#max, this.#tokens + this.#ratio);
    if (this.#waiterHead < this.#waiters.length) this.#serve();
  }

  /** Resolves when one retry may be made. */
  acquire(): Promise<void> {
    this.#refill();
    if (this.#waiters.length === this.#waiterHead && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#granted += 1;
      return Promise.resolve();
    }
    this.#waited += 1;
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#serve();
    });
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    this.#tokens = Math.min(this.#max, this.#tokens + (elapsed / 1000) * this.#floor);
  }

  #serve(): void {
    this.#refill();
    while (this.#waiterHead < this.#waiters.length && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#granted += 1;
      const wake = this.#waiters[this.#waiterHead]!;
      this.#waiterHead += 1;
      wake();
    }
    if (this.#waiterHead === this.#waiters.length) {
      this.#waiters = [];
      this.#waiterHead = 0;
      return;
    }
    if (this.#timerRunning || this.#floor <= 0) return;
    this.#timerRunning = true;
    const wait = Math.ceil(((1 - this.#tokens) / this.#floor) * 1000);
    void this.#clock.sleep(Math.max(1, wait)).then(() => {
      this.#timerRunning = false;
      this.#serve();
    });
  }
}
