/**
 * When to poll each app's legacy feedback service .
 *
 * - Every `intervalHours` per app (default 12: the product's origin advises against connecting
 *   often, which can look like an attack; Apple asked for about daily polls in its archived
 *   "Local and Remote Notification Programming Guide", "The Feedback Service").
 * - The last poll time is persisted through `records`, so a restart never polls early: an app is
 *   due at `lastPolledAt + interval + jitter`, whichever process asks.
 * - Jitter (a random extra delay of up to `jitterRatio` × interval, drawn once per app and last
 *   poll) spreads many apps' polls instead of firing them all at one instant.
 * - Once across all processes: before polling, a process must win `tryClaim(appId, slotStart)`,
 *   where slots are the interval-long windows aligned to the Unix epoch. Every process computes the
 *   same slot for the same moment, so one claim row (or lock) per (app, slot) admits exactly one
 *   poller per window; the loser looks again when the next window opens and then finds the
 *   winner's recorded poll. A process that crashes between claim and record costs that window's
 *   poll, never a double poll.
 * - A failed poll is recorded too (its summary holds the error): the next attempt is one interval
 *   later, or earlier by an explicit poll (`pushkeeper feedback poll`, `POST …/feedback:poll`).
 *
 * Time and timers are injected (`clock`), so the tests drive days of schedule with a fake clock.
 */

export interface FeedbackScheduleApp {
  readonly appId: string;
  /** null/undefined = the scheduler's default interval. */
  readonly intervalHours?: number | null | undefined;
}

export interface FeedbackPollRecords {
  lastPolledAt(appId: string): Promise<Date | null | undefined>;
  recordPoll(appId: string, at: Date, summary: Readonly<Record<string, unknown>>): Promise<void>;
}

/** Resolves true for exactly one caller per (appId, slotStart) across all processes. */
export type FeedbackSlotClaim = (appId: string, slotStart: Date) => Promise<boolean>;

export interface SchedulerClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemSchedulerClock: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // A pending poll must not keep a process alive that is otherwise done.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface FeedbackSchedulerOptions {
  /** The apps with a feedback service, re-read on every pass (apps come and go). */
  readonly apps: () => Promise<readonly FeedbackScheduleApp[]>;
  /** Polls one app and answers the summary to record; a throw is recorded as a failed poll. */
  readonly poll: (appId: string, signal: AbortSignal) => Promise<Readonly<Record<string, unknown>>>;
  readonly records: FeedbackPollRecords;
  /** Default: always granted (one process, e.g. the embedded SQLite mode). */
  readonly tryClaim?: FeedbackSlotClaim;
  readonly defaultIntervalHours?: number;
  /** Extra delay of up to this fraction of the interval; default 0.05 (36 min at 12 h). */
  readonly jitterRatio?: number;
  readonly random?: () => number;
  readonly clock?: SchedulerClock;
  /** Longest sleep between passes, so new apps and other processes' polls are noticed. Default 5 min. */
  readonly maxSleepMs?: number;
  /** Errors outside a poll (store unreachable, claim failed). */
  readonly onError?: (error: unknown, appId: string | undefined) => void;
}

export const DEFAULT_FEEDBACK_INTERVAL_HOURS = 12;
const HOUR_MS = 3_600_000;

export class FeedbackScheduler {
  readonly #options: FeedbackSchedulerOptions;
  readonly #clock: SchedulerClock;
  readonly #random: () => number;
  readonly #abort = new AbortController();
  /** Jitter per app, drawn once for each last-poll time. */
  readonly #jitter = new Map<string, { readonly lastMs: number; readonly jitterMs: number }>();
  #timer: unknown;
  #running: Promise<void> | undefined;
  #started = false;
  #closed = false;

  constructor(options: FeedbackSchedulerOptions) {
    const interval = options.defaultIntervalHours ?? DEFAULT_FEEDBACK_INTERVAL_HOURS;
    if (!(interval > 0)) throw new RangeError('defaultIntervalHours must be positive.');
    this.#options = options;
    this.#clock = options.clock ?? systemSchedulerClock;
    this.#random = options.random ?? Math.random;
  }

  /** Starts the first pass now; later passes follow by timer. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#wake();
  }

  /** Resolves when no pass is running (tests with a fake clock wait on it after each tick). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /**
   * One pass over every app: polls those that are due and whose slot this process wins. Answers
   * when the next pass should run (epoch ms).
   */
  async runDue(): Promise<number> {
    const now = this.#clock.now();
    let nextWake = now + (this.#options.maxSleepMs ?? 5 * 60_000);
    let apps: readonly FeedbackScheduleApp[];
    try {
      apps = await this.#options.apps();
    } catch (error) {
      this.#options.onError?.(error, undefined);
      return nextWake;
    }
    for (const app of apps) {
      if (this.#closed) break;
      try {
        nextWake = Math.min(nextWake, await this.#visit(app));
      } catch (error) {
        this.#options.onError?.(error, app.appId);
      }
    }
    return nextWake;
  }

  /** Stops scheduling and waits for a running poll to finish. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.idle();
  }

  /** Stops scheduling and aborts a running poll. */
  async destroy(): Promise<void> {
    this.#abort.abort();
    await this.close();
  }

  /** Handles one app; answers when it next needs a look. */
  async #visit(app: FeedbackScheduleApp): Promise<number> {
    // A nonsensical per-app value (0, negative, NaN) falls back to the default rather than spinning.
    const hours = app.intervalHours != null && app.intervalHours > 0 ? app.intervalHours : undefined;
    const intervalMs =
      (hours ?? this.#options.defaultIntervalHours ?? DEFAULT_FEEDBACK_INTERVAL_HOURS) * HOUR_MS;
    const last = await this.#options.records.lastPolledAt(app.appId);
    const lastMs = last ? last.getTime() : Number.NEGATIVE_INFINITY;
    const dueAt = lastMs + intervalMs + this.#jitterFor(app.appId, lastMs, intervalMs);
    const now = this.#clock.now();
    if (now < dueAt) return dueAt;

    const slotStart = Math.floor(now / intervalMs) * intervalMs;
    const claimed = this.#options.tryClaim
      ? await this.#options.tryClaim(app.appId, new Date(slotStart))
      : true;
    // Another process polls in this window; look again when the next one opens.
    if (!claimed) return slotStart + intervalMs;

    const at = new Date(now);
    let summary: Readonly<Record<string, unknown>>;
    try {
      summary = await this.#options.poll(app.appId, this.#abort.signal);
    } catch (error) {
      summary = failedPollSummary(error);
    }
    await this.#options.records.recordPoll(app.appId, at, summary);
    return now + intervalMs + this.#jitterFor(app.appId, now, intervalMs);
  }

  #jitterFor(appId: string, lastMs: number, intervalMs: number): number {
    if (lastMs === Number.NEGATIVE_INFINITY) return 0; // never polled: due now
    const known = this.#jitter.get(appId);
    if (known !== undefined && known.lastMs === lastMs) return known.jitterMs;
    const jitterMs = Math.floor(this.#random() * (this.#options.jitterRatio ?? 0.05) * intervalMs);
    this.#jitter.set(appId, { lastMs, jitterMs });
    return jitterMs;
  }

  #wake(): void {
    this.#timer = undefined;
    if (this.#closed || this.#running !== undefined) return;
    const pass = this.runDue().then(
      (nextWake) => this.#sleepUntil(nextWake),
      (error: unknown) => {
        this.#options.onError?.(error, undefined);
        this.#sleepUntil(this.#clock.now() + (this.#options.maxSleepMs ?? 5 * 60_000));
      },
    );
    this.#running = pass.finally(() => {
      this.#running = undefined;
    });
  }

  #sleepUntil(wakeAt: number): void {
    if (this.#closed) return;
    const maxSleep = this.#options.maxSleepMs ?? 5 * 60_000;
    const delay = Math.min(Math.max(0, wakeAt - this.#clock.now()), maxSleep);
    this.#timer = this.#clock.setTimeout(() => this.#wake(), delay);
  }
}

function failedPollSummary(error: unknown): Readonly<Record<string, unknown>> {
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const details =
    typeof fields['details'] === 'object' && fields['details'] !== null
      ? (fields['details'] as Record<string, unknown>)
      : {};
  const partial =
    typeof details['summary'] === 'object' && details['summary'] !== null ? details['summary'] : {};
  return {
    ...(partial as Record<string, unknown>),
    error: {
      code: typeof fields['code'] === 'string' ? fields['code'] : 'PK_ERR_INTERNAL',
      message: error instanceof Error ? error.message : String(error),
    },
  };
}
