/**
 * A retry budget (as in Finagle and gRPC): retries may add at most `ratio` of the first attempts
 * plus `floorPerSecond`, so while FCM answers 500/503 to everything the request rate stays near the
 * offered load instead of multiplying by the attempt count. A retry finding the budget empty waits
 * its turn (FIFO) rather than failing.
 */
import type { Clock } from './clock.ts';

export class FcmRetryBudget {
  readonly #clock: Clock;
  readonly #ratio: number;
  readonly #floor: number;
  readonly #max: number;
  #tokens: number;
  #updatedAt: number;
  #waiters: (() => void)[] = [];
  #timerRunning = false;
  #granted = 0;
  #waited = 0;

  constructor(options: { clock: Clock; ratio: number; floorPerSecond: number; maxTokens: number }) {
    this.#clock = options.clock;
    this.#ratio = options.ratio;
    this.#floor = options.floorPerSecond;
    this.#max = options.maxTokens;
    this.#tokens = Math.min(this.#max, this.#floor);
    this.#updatedAt = this.#clock.now();
  }

  stats(): { granted: number; waited: number; queued: number } {
    return { granted: this.#granted, waited: this.#waited, queued: this.#waiters.length };
  }

  /** A first attempt earns `ratio` of a retry. */
  deposit(): void {
    if (this.#tokens >= this.#max && this.#waiters.length === 0) return;
    this.#refill();
    this.#tokens = Math.min(this.#max, this.#tokens + this.#ratio);
    if (this.#waiters.length > 0) this.#serve();
  }

  /** Resolves when one retry may be made. */
  acquire(): Promise<void> {
    this.#refill();
    if (this.#waiters.length === 0 && this.#tokens >= 1) {
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
    this.#tokens = Math.min(
      this.#max,
      this.#tokens + (Math.max(0, now - this.#updatedAt) / 1000) * this.#floor,
    );
    this.#updatedAt = now;
  }

  #serve(): void {
    this.#refill();
    while (this.#waiters.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#granted += 1;
      this.#waiters.shift()!();
    }
    if (this.#waiters.length === 0 || this.#timerRunning || this.#floor <= 0) return;
    this.#timerRunning = true;
    void this.#clock.sleep(Math.max(1, Math.ceil(((1 - this.#tokens) / this.#floor) * 1000))).then(() => {
      this.#timerRunning = false;
      this.#serve();
    });
  }
}
