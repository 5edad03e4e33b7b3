/**
 * The timer that drives recurring schedules in both queues. It sleeps until the earliest schedule
 * is due (never longer than `maxSleepMs`, so schedules another process added are seen), then asks
 * the queue to claim what is due. The claim itself is the queue's: a row per schedule whose
 * `next_run_at` only one process can advance, so two processes never both run one interval.
 */
export interface ScheduleTimerOptions {
  /** Claims due schedules; resolves to ms until the next one is due, or null if there are none. */
  readonly runDue: () => Promise<number | null>;
  readonly maxSleepMs: number;
  readonly onError: (error: unknown) => void;
}

export class ScheduleTimer {
  readonly #options: ScheduleTimerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #pokedWhileRunning = false;

  constructor(options: ScheduleTimerOptions) {
    this.#options = options;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#arm(0);
  }

  /** Run now (a schedule was just added) instead of at the next planned wake-up. */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) this.#pokedWhileRunning = true;
    else this.#arm(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #arm(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#tick().finally(() => {
        this.#running = undefined;
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    let next: number | null = null;
    this.#pokedWhileRunning = false;
    try {
      next = await this.#options.runDue();
    } catch (error) {
      this.#options.onError(error);
    }
    if (this.#stopped) return;
    if (this.#pokedWhileRunning) next = 0;
    const sleep =
      next === null ? this.#options.maxSleepMs : Math.min(Math.max(next, 1), this.#options.maxSleepMs);
    this.#arm(sleep);
  }
}
