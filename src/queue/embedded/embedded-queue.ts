/**
 * The embedded job queue: in-process, durable in a SQLite file through node:sqlite (docs/queue.md).
 *
 * Hot path without a polling tick: an enqueue in this process wakes the waiting worker in the same
 * turn of the event loop (a microtask), so accept-to-handler is a commit plus a claim. Timers only
 * wake up for delayed jobs and retries (at the earliest `start_after`), for lease upkeep, and for a
 * slow idle poll that notices jobs another process put into the same file.
 *
 * Locking: the file's write lock may be held by another connection of this same process (the
 * store's, awaiting between the statements of a transaction). SQLite's busy handler would sleep
 * inside the synchronous call, blocking the event loop that the holder needs to commit: a
 * guaranteed stall for the whole busy timeout, then a failure. So this connection never waits
 * inside SQLite (busy timeout 0): a write that finds the lock taken is retried after a timer pause,
 * 1 ms doubling to 50 ms, until `busyTimeoutMs` has passed.
 *
 * Crash safety: a claimed job is `active` with a lease. Another instance reclaims it when the
 * lease lapses; a restarted single process (reclaimOnStart, the embedded default) reclaims every
 * `active` job at start(), since nothing else can be running them. At-least-once.
 */
import { randomUUID } from 'node:crypto';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { PushkeeperError } from '../../errors.ts';
import { retryDelayMs } from '../backoff.ts';
import {
  DEFAULT_STOP_TIMEOUT_MS,
  type EnqueueOptions,
  type EnqueueRequest,
  type Job,
  type JobHandler,
  type JobInfo,
  type JobQueue,
  type JobState,
  type StopOptions,
  type WorkOptions,
} from '../contract.ts';
import {
  assertInterval,
  assertQueueName,
  type ResolvedEnqueueOptions,
  resolveEnqueueOptions,
  resolveWorkOptions,
} from '../enqueue-options.ts';
import { isPermanentJobError } from '../permanent-job-error.ts';
import { ScheduleTimer } from '../schedule-timer.ts';
import { EMBEDDED_QUEUE_SCHEMA } from './schema.ts';

export interface EmbeddedJobQueueOptions {
  /** The SQLite file (may be the store's file). */
  readonly path: string;
  /** How long a claim holds without renewal before another instance may take the job. Default 30 s. */
  readonly leaseMs?: number;
  /** Slow poll for jobs other processes wrote into the file. Default 5 s. */
  readonly idlePollMs?: number;
  /** Upper bound of one retry delay. Default 1 h. */
  readonly maxRetryDelayMs?: number;
  /** Finished jobs are kept this long for getJob(), then deleted. Default 24 h. */
  readonly keepFinishedMs?: number;
  /**
   * At start(), make every `active` job available again at once. True (default) when this process
   * is the only one working this file, the embedded deployment; with several processes on one
   * file set it false and rely on leases.
   */
  readonly reclaimOnStart?: boolean;
  /** `FULL` (default) survives power loss; `NORMAL` only a process crash, and is faster. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How long a write waits for the file's write lock held by another connection. Default 5 s. */
  readonly busyTimeoutMs?: number;
  /** Longest sleep of the schedule timer. Default 1 s. */
  readonly scheduleMaxSleepMs?: number;
  /** Milliseconds since the epoch; injectable for deterministic schedule tests. */
  readonly now?: () => number;
  /** Errors that have no caller to go to (a failed lease renewal, a settle after close). */
  readonly onError?: (error: unknown) => void;
}

interface Registration {
  readonly name: string;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly handler: JobHandler<unknown>;
  inFlight: number;
}

interface ClaimedRow {
  id: string;
  data: string;
  retry_count: number;
  retry_limit: number;
  retry_delay_ms: number;
  retry_backoff: number;
  claim_count: number;
  priority: number;
  start_after: number;
  rid: number;
}

interface Batch {
  readonly registration: Registration;
  readonly rows: readonly ClaimedRow[];
  /** One per job, so cancelling one job does not abort the rest of its batch. */
  readonly controllers: ReadonlyMap<string, AbortController>;
  readonly done: Promise<void>;
}

interface JobRow {
  id: string;
  name: string;
  state: JobState;
  data: string;
  claim_count: number;
  retry_limit: number;
  last_error: string | null;
}

const WAITING = `state IN ('created', 'retry')`;
/** WAL size that triggers an automatic checkpoint, as the store's connection (store/sqlite/open-sqlite.ts). */
const CHECKPOINT_WAL_BYTES = 160 * 1024 * 1024;
/** The WAL is truncated back to this after a checkpoint, as the store's connection. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
const PRUNE_EVERY_TICKS = 60;
const MAX_TIMER_MS = 2_147_483_647;

function asQueueError(error: unknown, what: string): unknown {
  if (error instanceof Error && (error as { code?: unknown }).code === 'ERR_SQLITE_ERROR') {
    const errstr = (error as { errstr?: unknown }).errstr;
    return new PushkeeperError(
      'PK_ERR_QUEUE_UNAVAILABLE',
      `The embedded queue could not ${what}.`,
      { sqlite: errstr },
      {
        cause: error,
      },
    );
  }
  return error;
}

/** SQLITE_BUSY (with or without an extended code): another connection holds the write lock. */
function isBusy(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' && (errcode & 0xff) === 5;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class EmbeddedJobQueue implements JobQueue {
  readonly #options: EmbeddedJobQueueOptions;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #leaseMs: number;
  readonly #busyTimeoutMs: number;
  readonly #instanceId = randomUUID();
  readonly #registrations = new Map<string, Registration>();
  readonly #batches = new Set<Batch>();
  readonly #statements = new Map<string, StatementSync>();
  readonly #schedules: ScheduleTimer;
  #db: DatabaseSync | undefined;
  #state: 'new' | 'started' | 'stopped' | 'closed' = 'new';
  #maintenanceTimer: NodeJS.Timeout | undefined;
  /** A pump or maintenance pass that found the write lock taken and runs again shortly. */
  readonly #lockRetries = new Set<NodeJS.Timeout>();
  /** Settles waiting for the write lock; a stop lets them finish. */
  readonly #settling = new Set<Promise<void>>();
  #delayTimer: NodeJS.Timeout | undefined;
  #delayTimerAt = Number.POSITIVE_INFINITY;
  #ticks = 0;
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: EmbeddedJobQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? ((error) => process.emitWarning(error as Error));
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#schedules = new ScheduleTimer({
      runDue: () => this.#runDueSchedules(),
      maxSleepMs: options.scheduleMaxSleepMs ?? 1000,
      onError: this.#onError,
    });
  }

  async start(): Promise<void> {
    if (this.#state === 'started') return;
    if (this.#state !== 'new') {
      throw new PushkeeperError('PK_ERR_QUEUE_UNAVAILABLE', 'The queue was stopped; create a new one.');
    }
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(this.#options.path, { timeout: 0 });
      const opened = db;
      await this.#whenUnlocked(() => opened.exec('PRAGMA journal_mode = WAL'));
      db.exec(`PRAGMA synchronous = ${this.#options.synchronous ?? 'FULL'}`);
      // The automatic checkpoint is per connection, and SQLite's default (1,000 pages) would make
      // this one, committing a claim and a settle per job, checkpoint the WAL every few megabytes
      // for every writer of a shared file: each time copying the store's hot pages (outcome index,
      // device pages) again. Same threshold and WAL size limit as the store's connection.
      const { page_size: pageSize } = db.prepare('PRAGMA page_size').get() as { page_size: number };
      db.exec(`PRAGMA wal_autocheckpoint = ${Math.ceil(CHECKPOINT_WAL_BYTES / pageSize)}`);
      db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      await this.#whenUnlocked(() => opened.exec(EMBEDDED_QUEUE_SCHEMA));
    } catch (error) {
      db?.close();
      throw asQueueError(error, 'open its database');
    }
    this.#db = db;
    if (this.#options.reclaimOnStart ?? true) {
      try {
        await this.#whenUnlocked(() => this.#reclaim(false));
      } catch (error) {
        throw asQueueError(error, 'reclaim jobs');
      }
    }
    this.#state = 'started';
    const tickMs = Math.max(10, Math.min(this.#options.idlePollMs ?? 5000, Math.floor(this.#leaseMs / 3)));
    this.#maintenanceTimer = setInterval(() => this.#maintain(), tickMs);
    this.#maintenanceTimer.unref();
    this.#schedules.start();
    for (const registration of this.#registrations.values()) this.#pump(registration);
    this.#armDelayTimer();
  }

  async enqueue<T>(name: string, data: T, options?: EnqueueOptions): Promise<string> {
    const [id] = await this.enqueueMany(name, [options === undefined ? { data } : { data, options }]);
    return id!;
  }

  async enqueueMany<T>(name: string, jobs: readonly EnqueueRequest<T>[]): Promise<string[]> {
    assertQueueName(name);
    if (jobs.length === 0) return [];
    const resolved = jobs.map((job) => ({
      data: JSON.stringify(job.data ?? null),
      options: resolveEnqueueOptions(job.options),
    }));
    const db = this.#open();
    const now = this.#now();
    let ids: string[];
    try {
      ids = await this.#whenUnlocked(() =>
        this.#transaction(db, () =>
          resolved.map((job) => this.#insert(db, name, job.data, job.options, now)),
        ),
      );
    } catch (error) {
      throw asQueueError(error, 'persist a job');
    }
    const registration = this.#registrations.get(name);
    if (registration !== undefined) {
      const earliest = Math.min(...resolved.map((job) => job.options.startAfterMs));
      if (earliest === 0) queueMicrotask(() => this.#pump(registration));
      else this.#armDelayTimer();
    }
    return ids;
  }

  async work<T>(name: string, options: WorkOptions, handler: JobHandler<T>): Promise<void> {
    assertQueueName(name);
    if (this.#registrations.has(name))
      throw new TypeError(`A worker for queue ${name} is already registered`);
    const { concurrency, batchSize } = resolveWorkOptions(options);
    this.#open();
    const registration: Registration = {
      name,
      concurrency,
      batchSize,
      handler: handler as JobHandler<unknown>,
      inFlight: 0,
    };
    this.#registrations.set(name, registration);
    this.#pump(registration);
    this.#armDelayTimer();
  }

  async schedule(name: string, intervalMs: number, data?: unknown): Promise<void> {
    assertQueueName(name);
    assertInterval(intervalMs);
    const db = this.#open();
    try {
      await this.#whenUnlocked(() =>
        this.#sql(
          db,
          `INSERT INTO queue_schedules (name, interval_ms, data, next_run_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET
             data = excluded.data,
             next_run_at = CASE WHEN interval_ms = excluded.interval_ms THEN next_run_at ELSE excluded.next_run_at END,
             interval_ms = excluded.interval_ms`,
        ).run(name, intervalMs, JSON.stringify(data ?? null), this.#now()),
      );
    } catch (error) {
      throw asQueueError(error, 'save a schedule');
    }
    this.#schedules.poke();
  }

  async unschedule(name: string): Promise<void> {
    try {
      const db = this.#open();
      await this.#whenUnlocked(() => this.#sql(db, 'DELETE FROM queue_schedules WHERE name = ?').run(name));
    } catch (error) {
      throw asQueueError(error, 'delete a schedule');
    }
  }

  async runDueSchedules(): Promise<void> {
    await this.#runDueSchedules();
  }

  async getJob<T = unknown>(name: string, id: string): Promise<JobInfo<T> | null> {
    let row: JobRow | undefined;
    try {
      row = this.#sql(
        this.#open(),
        'SELECT id, name, state, data, claim_count, retry_limit, last_error FROM queue_jobs WHERE name = ? AND id = ?',
      ).get(name, id.toLowerCase()) as JobRow | undefined;
    } catch (error) {
      throw asQueueError(error, 'read a job');
    }
    if (row === undefined) return null;
    return {
      id: row.id,
      name: row.name,
      state: row.state,
      data: JSON.parse(row.data) as T,
      retryCount: Math.max(row.claim_count - 1, 0),
      retryLimit: row.retry_limit,
      ...(row.last_error === null ? {} : { lastError: row.last_error }),
    };
  }

  async cancel(name: string, id: string): Promise<void> {
    try {
      const db = this.#open();
      await this.#whenUnlocked(() =>
        this.#sql(
          db,
          `UPDATE queue_jobs SET state = 'cancelled', finished_at = ?, locked_by = NULL, lease_until = NULL
             WHERE name = ? AND id = ? AND state IN ('created', 'retry', 'active')`,
        ).run(this.#now(), name, id.toLowerCase()),
      );
    } catch (error) {
      throw asQueueError(error, 'cancel a job');
    }
    for (const batch of this.#batches) {
      if (batch.registration.name === name)
        batch.controllers.get(id.toLowerCase())?.abort(new Error('job cancelled'));
    }
  }

  async depth(name?: string): Promise<number> {
    try {
      const db = this.#open();
      const row =
        name === undefined
          ? this.#sql(db, `SELECT count(*) AS n FROM queue_jobs WHERE ${WAITING}`).get()
          : this.#sql(db, `SELECT count(*) AS n FROM queue_jobs WHERE name = ? AND ${WAITING}`).get(name);
      return Number((row as { n: number }).n);
    } catch (error) {
      throw asQueueError(error, 'count jobs');
    }
  }

  /** A second stop() (or close()) during a stop waits for the first instead of cutting it short. */
  async stop(options?: StopOptions): Promise<void> {
    if (this.#state === 'started') {
      this.#state = 'stopped';
      this.#stopping = this.#stop(options);
    }
    await this.#stopping;
  }

  async #stop(options: StopOptions | undefined): Promise<void> {
    clearTimeout(this.#delayTimer);
    this.#delayTimerAt = Number.POSITIVE_INFINITY;
    await this.#schedules.stop();
    const graceful = options?.graceful ?? true;
    if (graceful && this.#batches.size > 0) {
      const timeoutMs = options?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.all([...this.#batches].map((batch) => batch.done)), timeout]);
      clearTimeout(timer);
    }
    await Promise.all(this.#settling);
    // Leases were renewed while the handlers drained; whatever is left goes back now.
    clearInterval(this.#maintenanceTimer);
    for (const timer of this.#lockRetries) clearTimeout(timer);
    this.#lockRetries.clear();
    await this.#abandonInFlight();
  }

  async close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.stop();
    this.#state = 'closed';
    this.#statements.clear();
    this.#db?.close();
    this.#db = undefined;
  }

  #open(): DatabaseSync {
    if (this.#db === undefined || this.#state === 'closed') {
      throw new PushkeeperError('PK_ERR_QUEUE_UNAVAILABLE', 'The queue is not started or already closed.');
    }
    return this.#db;
  }

  /** Prepared once per connection: the claim and settle statements run for every job. */
  #sql(db: DatabaseSync, source: string): StatementSync {
    let statement = this.#statements.get(source);
    if (statement === undefined) {
      statement = db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement;
  }

  /**
   * Runs a write, retrying after a timer pause while another connection holds the write lock
   * (see the header), until `busyTimeoutMs` has passed; then the SQLITE_BUSY error is thrown.
   */
  async #whenUnlocked<R>(write: () => R): Promise<R> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        return write();
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error;
      }
      await pause(Math.min(wait, Math.max(1, deadline - Date.now())));
    }
  }

  /** Runs `fn` again shortly: a synchronous pass (claim, lease upkeep) found the write lock taken. */
  #retrySoon(fn: () => void): void {
    if (this.#state !== 'started') return;
    const timer = setTimeout(() => {
      this.#lockRetries.delete(timer);
      fn();
    }, 5);
    timer.unref();
    this.#lockRetries.add(timer);
  }

  #transaction<R>(db: DatabaseSync, body: () => R): R {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = body();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  #insert(
    db: DatabaseSync,
    name: string,
    data: string,
    options: ResolvedEnqueueOptions,
    now: number,
  ): string {
    const id = options.id ?? randomUUID();
    this.#sql(
      db,
      `INSERT INTO queue_jobs (id, name, data, state, priority, retry_limit, retry_delay_ms, retry_backoff,
         start_after, created_at)
       VALUES (?, ?, ?, 'created', ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ).run(
      id,
      name,
      data,
      options.priority,
      options.retryLimit,
      options.retryDelayMs,
      options.retryBackoff ? 1 : 0,
      now + options.startAfterMs,
      now,
    );
    return id;
  }

  /** Claims up to `limit` due jobs for this instance; atomic as one statement. */
  #claim(db: DatabaseSync, name: string, limit: number): ClaimedRow[] {
    const now = this.#now();
    const rows = this.#sql(
      db,
      `UPDATE queue_jobs
           SET state = 'active', started_at = ?, locked_by = ?, lease_until = ?, claim_count = claim_count + 1
         WHERE id IN (
           SELECT id FROM queue_jobs
           WHERE name = ? AND ${WAITING} AND start_after <= ?
           ORDER BY priority DESC, start_after, rowid
           LIMIT ?)
         RETURNING id, data, retry_count, retry_limit, retry_delay_ms, retry_backoff, claim_count, priority,
           start_after, rowid AS rid`,
    ).all(now, this.#instanceId, now + this.#leaseMs, name, now, limit) as unknown as ClaimedRow[];
    // RETURNING comes back in no particular order; hand the batch over in queue order.
    return rows.sort((a, b) => b.priority - a.priority || a.start_after - b.start_after || a.rid - b.rid);
  }

  #pump(registration: Registration): void {
    if (this.#state !== 'started' || this.#registrations.get(registration.name) !== registration) return;
    const db = this.#db;
    if (db === undefined) return;
    while (registration.inFlight < registration.concurrency) {
      let rows: ClaimedRow[];
      try {
        rows = this.#claim(db, registration.name, registration.batchSize);
      } catch (error) {
        if (isBusy(error)) {
          // Another connection is writing; claim again in a moment, the event loop free meanwhile.
          this.#retrySoon(() => this.#pump(registration));
          return;
        }
        // The file is broken; the maintenance tick pumps again.
        this.#onError(asQueueError(error, 'claim jobs'));
        return;
      }
      if (rows.length === 0) return;
      registration.inFlight += 1;
      this.#startBatch(registration, rows);
    }
  }

  #startBatch(registration: Registration, rows: ClaimedRow[]): void {
    const controllers = new Map(rows.map((row) => [row.id, new AbortController()]));
    const jobs: Job<unknown>[] = rows.map((row) => ({
      id: row.id,
      name: registration.name,
      data: JSON.parse(row.data) as unknown,
      retryCount: row.retry_count,
      // claim_count counts every claim, including those whose process died before settling.
      firstDelivery: row.claim_count === 1,
      signal: controllers.get(row.id)!.signal,
    }));
    let markDone: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      markDone = resolve;
    });
    const batch: Batch = { registration, rows, controllers, done };
    this.#batches.add(batch);
    const release = (): void => {
      registration.inFlight -= 1;
      markDone();
      this.#pump(registration);
    };
    const finish = (error: unknown, failed: boolean): void => {
      if (!this.#batches.delete(batch)) {
        release();
        return;
      }
      // Settled in this turn unless another connection holds the write lock; then after it let go.
      try {
        this.#settle(batch, failed ? error : undefined, failed);
      } catch (settleError) {
        if (!isBusy(settleError)) {
          this.#settleFailed(settleError);
          release();
          return;
        }
        const settling = this.#whenUnlocked(() => this.#settle(batch, failed ? error : undefined, failed))
          .catch((lastError: unknown) => this.#settleFailed(lastError))
          .finally(() => {
            this.#settling.delete(settling);
            release();
          });
        this.#settling.add(settling);
        return;
      }
      release();
    };
    // A promise job, so the handler never runs inside enqueue()'s or start()'s own call stack, and
    // a handler that throws synchronously settles like one that rejects.
    Promise.resolve()
      .then(() => registration.handler(jobs))
      .then(
        () => finish(undefined, false),
        (error: unknown) => finish(error, true),
      );
  }

  /** The claim stays active; its lease lapses and the jobs run again (at-least-once). */
  #settleFailed(error: unknown): void {
    this.#onError(asQueueError(error, 'settle jobs'));
  }

  /** Records a batch's results in one transaction; throws what SQLite threw (see #settleFailed). */
  #settle(batch: Batch, error: unknown, failed: boolean): void {
    const db = this.#db;
    if (db === undefined) return;
    const now = this.#now();
    const fence = 'id = ? AND state = ? AND locked_by = ? AND claim_count = ?';
    let nextRetryAt = Number.POSITIVE_INFINITY;
    this.#transaction(db, () => {
      for (const row of batch.rows) {
        const claim = [row.id, 'active', this.#instanceId, row.claim_count] as const;
        if (!failed) {
          this.#sql(
            db,
            `UPDATE queue_jobs SET state = 'completed', finished_at = ?, locked_by = NULL, lease_until = NULL
               WHERE ${fence}`,
          ).run(now, ...claim);
          continue;
        }
        const message = errorMessage(error);
        const retryCount = row.retry_count + 1;
        if (isPermanentJobError(error) || retryCount > row.retry_limit) {
          this.#sql(
            db,
            `UPDATE queue_jobs SET state = 'failed', finished_at = ?, last_error = ?, locked_by = NULL,
                 lease_until = NULL WHERE ${fence}`,
          ).run(now, message, ...claim);
          continue;
        }
        const delay = retryDelayMs(
          {
            retryDelayMs: row.retry_delay_ms,
            retryBackoff: row.retry_backoff === 1,
            maxRetryDelayMs: this.#options.maxRetryDelayMs ?? 3_600_000,
          },
          retryCount,
        );
        nextRetryAt = Math.min(nextRetryAt, now + delay);
        this.#sql(
          db,
          `UPDATE queue_jobs SET state = 'retry', retry_count = ?, start_after = ?, last_error = ?,
               locked_by = NULL, lease_until = NULL WHERE ${fence}`,
        ).run(retryCount, now + delay, message, ...claim);
      }
    });
    if (nextRetryAt !== Number.POSITIVE_INFINITY) this.#armDelayTimer();
  }

  /** Stop-time: abort handlers still running and hand their jobs back without spending a retry. */
  async #abandonInFlight(): Promise<void> {
    const batches = [...this.#batches];
    this.#batches.clear();
    const db = this.#db;
    for (const batch of batches) {
      for (const controller of batch.controllers.values()) controller.abort(new Error('queue stopped'));
      if (db === undefined) continue;
      try {
        await this.#whenUnlocked(() =>
          this.#transaction(db, () => {
            for (const row of batch.rows) {
              this.#sql(
                db,
                `UPDATE queue_jobs SET state = CASE WHEN retry_count = 0 THEN 'created' ELSE 'retry' END,
                 locked_by = NULL, lease_until = NULL
               WHERE id = ? AND state = 'active' AND locked_by = ? AND claim_count = ?`,
              ).run(row.id, this.#instanceId, row.claim_count);
            }
          }),
        );
      } catch (error) {
        this.#onError(asQueueError(error, 'release jobs'));
      }
    }
  }

  /**
   * Makes `active` jobs available again: all of them at start (a restarted single process), or
   * only those whose lease lapsed (their instance died or hung). A crash does not spend a retry.
   */
  #reclaim(expiredOnly: boolean): number {
    const db = this.#open();
    const result = this.#sql(
      db,
      `UPDATE queue_jobs SET state = CASE WHEN retry_count = 0 THEN 'created' ELSE 'retry' END,
           locked_by = NULL, lease_until = NULL
         WHERE state = 'active' AND lease_until < ?`,
    ).run(expiredOnly ? this.#now() : Number.MAX_SAFE_INTEGER);
    return Number(result.changes);
  }

  #maintain(): void {
    const db = this.#db;
    if (db === undefined) return;
    try {
      const now = this.#now();
      if (this.#batches.size > 0) {
        this.#sql(db, `UPDATE queue_jobs SET lease_until = ? WHERE state = 'active' AND locked_by = ?`).run(
          now + this.#leaseMs,
          this.#instanceId,
        );
      }
      this.#reclaim(true);
      this.#ticks += 1;
      if (this.#ticks % PRUNE_EVERY_TICKS === 0) {
        this.#sql(
          db,
          `DELETE FROM queue_jobs WHERE state IN ('completed', 'failed', 'cancelled') AND finished_at < ?`,
        ).run(now - (this.#options.keepFinishedMs ?? 86_400_000));
      }
    } catch (error) {
      if (isBusy(error)) {
        // Lease upkeep must not wait a whole tick behind another connection's transaction.
        this.#retrySoon(() => this.#maintain());
        return;
      }
      this.#onError(asQueueError(error, 'renew leases'));
    }
    for (const registration of this.#registrations.values()) this.#pump(registration);
    this.#armDelayTimer();
  }

  /** One timer at the earliest future `start_after` among queues this instance works. */
  #armDelayTimer(): void {
    const db = this.#db;
    if (db === undefined || this.#state !== 'started' || this.#registrations.size === 0) return;
    const now = this.#now();
    let earliest: number | null;
    try {
      const row = this.#sql(
        db,
        `SELECT min(start_after) AS at FROM queue_jobs
           WHERE ${WAITING} AND start_after > ? AND name IN (SELECT value FROM json_each(?))`,
      ).get(now, JSON.stringify([...this.#registrations.keys()])) as { at: number | null };
      earliest = row.at;
    } catch (error) {
      this.#onError(asQueueError(error, 'find delayed jobs'));
      return;
    }
    if (earliest === null || earliest >= this.#delayTimerAt) return;
    clearTimeout(this.#delayTimer);
    // Node fires a timer longer than 2^31-1 ms at once; a job weeks away waits in steps instead.
    const delay = Math.min(Math.max(0, earliest - now), MAX_TIMER_MS);
    this.#delayTimerAt = now + delay;
    this.#delayTimer = setTimeout(() => {
      this.#delayTimerAt = Number.POSITIVE_INFINITY;
      for (const registration of this.#registrations.values()) this.#pump(registration);
      this.#armDelayTimer();
    }, delay);
    this.#delayTimer.unref();
  }

  /**
   * Claims due schedules (one transaction, so two processes never claim one slot twice). Most
   * wake-ups find nothing due: a read answers those without taking the write lock.
   */
  async #runDueSchedules(): Promise<number | null> {
    const db = this.#open();
    const now = this.#now();
    const claimed: string[] = [];
    const nextDue = (): number | null => {
      const row = this.#sql(db, 'SELECT min(next_run_at) AS at FROM queue_schedules').get() as {
        at: SQLInputValue;
      };
      return typeof row.at === 'number' ? row.at - now : null;
    };
    let next: number | null;
    try {
      next = nextDue();
      if (next !== null && next <= 0) {
        next = await this.#whenUnlocked(() =>
          this.#transaction(db, () => {
            const due = this.#sql(
              db,
              'SELECT name, interval_ms, data, next_run_at FROM queue_schedules WHERE next_run_at <= ?',
            ).all(now) as { name: string; interval_ms: number; data: string; next_run_at: number }[];
            for (const schedule of due) {
              // Missed intervals collapse into one run; the cadence stays on its original grid.
              const skipped = Math.floor((now - schedule.next_run_at) / schedule.interval_ms) + 1;
              this.#sql(db, 'UPDATE queue_schedules SET next_run_at = ? WHERE name = ?').run(
                schedule.next_run_at + skipped * schedule.interval_ms,
                schedule.name,
              );
              this.#insert(db, schedule.name, schedule.data, resolveEnqueueOptions(undefined), now);
              claimed.push(schedule.name);
            }
            return nextDue();
          }),
        );
      }
    } catch (error) {
      throw asQueueError(error, 'run schedules');
    }
    for (const name of claimed) {
      const registration = this.#registrations.get(name);
      if (registration !== undefined) this.#pump(registration);
    }
    return next;
  }
}
