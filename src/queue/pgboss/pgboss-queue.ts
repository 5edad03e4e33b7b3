/**
 * The cluster job queue: pg-boss 12 on PostgreSQL, shared by any number of `pushkeeper worker`
 * processes (docs/queue.md).
 *
 * - Wake-ups: pg-boss's LISTEN/NOTIFY (`useListenNotify` + queue `notify: true`): an insert of a
 *   job that is due now NOTIFYs on commit and idle workers fetch at once. Polling stays as the
 *   floor (`pollingIntervalMs`), and it is what picks up delayed jobs and retries when they come due.
 * - Takeover: a job whose worker died stays `active` until pg-boss's supervisor fails it by
 *   heartbeat (`heartbeatSeconds`, refreshed by the live worker) or by `expireInSeconds`; the
 *   failure puts it back as a retry (it spends one retry) and another worker takes it.
 * - Permanent failures: handlers settle per job (`perJobResults`), a PermanentJobError becomes
 *   `deadletter`, which fails the job terminally (no dead letter queue is configured).
 */
import { randomUUID } from 'node:crypto';
import { type Job as BossJob, type JobInsert, type JobResult, PgBoss } from 'pg-boss';
import { PushkeeperError } from '../../errors.ts';
import {
  DEFAULT_RETRY_LIMIT,
  DEFAULT_STOP_TIMEOUT_MS,
  type EnqueueOptions,
  type EnqueueRequest,
  type Job,
  type JobHandler,
  type JobInfo,
  type JobQueue,
  type StopOptions,
  isJobId,
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
import {
  assertSchemaName,
  claimDueSchedulesSql,
  createScheduleTableSql,
  deleteScheduleSql,
  nextScheduleSql,
  upsertScheduleSql,
} from './schedule-table.ts';

export interface PgBossJobQueueOptions {
  readonly connectionString: string;
  /** PostgreSQL schema for pg-boss's tables and our schedule table. Default `pgboss`. */
  readonly schema?: string;
  /** Pool size. Default 10. */
  readonly maxConnections?: number;
  /** Fetch floor: how soon delayed jobs and retries are seen, and wake-ups if NOTIFY is down. Default 2000, min 500. */
  readonly pollingIntervalMs?: number;
  /** A job running longer is failed (handler timeout); also the takeover bound without heartbeats. Default 900. */
  readonly expireInSeconds?: number;
  /** Liveness of a running job; a killed worker's job is retried after about this long. Default 30 (min 10); null turns it off. */
  readonly heartbeatSeconds?: number | null;
  /** How often pg-boss's supervisor looks for expired jobs. Default 10. */
  readonly superviseIntervalSeconds?: number;
  /** Longest sleep of the schedule timer. Default 1 s. */
  readonly scheduleMaxSleepMs?: number;
  readonly applicationName?: string;
  /** Milliseconds since the epoch, for schedule claims; injectable for deterministic tests. */
  readonly now?: () => number;
  /** pg-boss's background errors and warnings, which have no caller to go to. */
  readonly onError?: (error: unknown) => void;
}

interface Running {
  readonly name: string;
  /** Per job, for cancel(). */
  readonly controllers: ReadonlyMap<string, AbortController>;
  /** Aborted when a stop gives up waiting. */
  readonly stopped: AbortController;
}

/** After aborting what outlived a stop, how long to let pg-boss record those attempts as failed. */
const ABORT_SETTLE_MS = 2000;

function asQueueError(error: unknown, what: string): unknown {
  if (error instanceof TypeError || (error instanceof Error && error.name === 'AssertionError')) return error;
  if (error instanceof PushkeeperError) return error;
  return new PushkeeperError('PK_ERR_QUEUE_UNAVAILABLE', `The cluster queue could not ${what}.`, undefined, {
    cause: error,
  });
}

async function raceTimeout(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([promise, timeout]);
  clearTimeout(timer);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failureMessage(output: unknown): string | undefined {
  if (output !== null && typeof output === 'object' && 'message' in output) {
    const message = (output as { message: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return undefined;
}

export class PgBossJobQueue implements JobQueue {
  readonly #options: PgBossJobQueueOptions;
  readonly #schema: string;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #workedQueues = new Set<string>();
  readonly #running = new Set<Running>();
  readonly #schedules: ScheduleTimer;
  #boss: PgBoss | undefined;
  #state: 'new' | 'started' | 'stopped' | 'closed' = 'new';
  #stopping: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: PgBossJobQueueOptions) {
    this.#options = options;
    this.#schema = options.schema ?? 'pgboss';
    assertSchemaName(this.#schema);
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? ((error) => process.emitWarning(error as Error));
    this.#schedules = new ScheduleTimer({
      runDue: async () => this.#runDueSchedules(),
      maxSleepMs: options.scheduleMaxSleepMs ?? 1000,
      onError: this.#onError,
    });
  }

  async start(): Promise<void> {
    if (this.#state === 'started') return;
    if (this.#state !== 'new') {
      throw new PushkeeperError('PK_ERR_QUEUE_UNAVAILABLE', 'The queue was stopped; create a new one.');
    }
    const supervise = this.#options.superviseIntervalSeconds ?? 10;
    const boss = new PgBoss({
      connectionString: this.#options.connectionString,
      schema: this.#schema,
      max: this.#options.maxConnections ?? 10,
      application_name: this.#options.applicationName ?? 'pushkeeper',
      useListenNotify: true,
      // Our schedules are claim rows (schedule-table.ts), not pg-boss cron.
      schedule: false,
      superviseIntervalSeconds: supervise,
      monitorIntervalSeconds: supervise,
    });
    boss.on('error', (error) => this.#onError(error));
    boss.on('warning', (warning) => this.#onError(new Error(warning.message)));
    try {
      await boss.start();
      await boss
        .getDb()
        .executeSql(createScheduleTableSql(this.#schema))
        .catch((error: unknown) => {
          // Workers starting together race on CREATE TABLE IF NOT EXISTS; the loser sees the
          // winner's catalog row as a duplicate (23505) or the table as existing (42P07).
          const code = (error as { code?: unknown }).code;
          if (code !== '23505' && code !== '42P07') throw error;
        });
    } catch (error) {
      await boss.stop({ graceful: false }).catch(() => {});
      throw asQueueError(error, 'start');
    }
    this.#boss = boss;
    this.#state = 'started';
    this.#schedules.start();
  }

  async enqueue<T>(name: string, data: T, options?: EnqueueOptions): Promise<string> {
    const [id] = await this.enqueueMany(name, [options === undefined ? { data } : { data, options }]);
    return id!;
  }

  async enqueueMany<T>(name: string, jobs: readonly EnqueueRequest<T>[]): Promise<string[]> {
    assertQueueName(name);
    const inserts = jobs.map((job) => this.#toInsert(job.data, resolveEnqueueOptions(job.options)));
    if (inserts.length === 0) return [];
    const boss = this.#open();
    try {
      await this.#ensureQueue(name);
      await boss.insert(name, inserts);
    } catch (error) {
      throw asQueueError(error, 'persist a job');
    }
    return inserts.map((insert) => insert.id!);
  }

  async work<T>(name: string, options: WorkOptions, handler: JobHandler<T>): Promise<void> {
    assertQueueName(name);
    if (this.#workedQueues.has(name)) throw new TypeError(`A worker for queue ${name} is already registered`);
    const { concurrency, batchSize } = resolveWorkOptions(options);
    const boss = this.#open();
    const polling = Math.max(0.5, (this.#options.pollingIntervalMs ?? 2000) / 1000);
    this.#workedQueues.add(name);
    try {
      await this.#ensureQueue(name);
      await boss.work<T>(
        name,
        {
          localConcurrency: concurrency,
          batchSize,
          pollingIntervalSeconds: polling,
          // NOTIFY only covers jobs due at insert; this poll is what sees delayed jobs and retries.
          notifyPollingIntervalSeconds: polling,
          perJobResults: true,
        },
        async (bossJobs: BossJob<T>[]): Promise<JobResult[]> => this.#handle(name, bossJobs, handler),
      );
    } catch (error) {
      this.#workedQueues.delete(name);
      throw asQueueError(error, 'start a worker');
    }
  }

  async schedule(name: string, intervalMs: number, data?: unknown): Promise<void> {
    assertQueueName(name);
    assertInterval(intervalMs);
    const boss = this.#open();
    try {
      await this.#ensureQueue(name);
      await boss
        .getDb()
        .executeSql(upsertScheduleSql(this.#schema), [
          name,
          intervalMs,
          JSON.stringify(data ?? null),
          this.#now(),
        ]);
    } catch (error) {
      throw asQueueError(error, 'save a schedule');
    }
    this.#schedules.poke();
  }

  async unschedule(name: string): Promise<void> {
    try {
      await this.#open().getDb().executeSql(deleteScheduleSql(this.#schema), [name]);
    } catch (error) {
      throw asQueueError(error, 'delete a schedule');
    }
  }

  async runDueSchedules(): Promise<void> {
    await this.#runDueSchedules();
  }

  async getJob<T = unknown>(name: string, id: string): Promise<JobInfo<T> | null> {
    assertQueueName(name);
    const boss = this.#open();
    // Not a UUID, so not one of ours (and PostgreSQL would refuse the cast).
    if (!isJobId(id)) return null;
    try {
      await this.#ensureQueue(name);
      const [job] = await boss.findJobs<T>(name, { id: id.toLowerCase() });
      if (job === undefined) return null;
      const lastError = failureMessage(job.output);
      return {
        id: job.id,
        name: job.name,
        state: job.state,
        data: job.data,
        retryCount: job.retryCount,
        retryLimit: job.retryLimit,
        ...(lastError === undefined || job.state === 'completed' ? {} : { lastError }),
      };
    } catch (error) {
      throw asQueueError(error, 'read a job');
    }
  }

  async cancel(name: string, id: string): Promise<void> {
    assertQueueName(name);
    const boss = this.#open();
    if (!isJobId(id)) return;
    try {
      await this.#ensureQueue(name);
      await boss.cancel(name, id.toLowerCase());
    } catch (error) {
      throw asQueueError(error, 'cancel a job');
    }
    for (const running of this.#running) {
      if (running.name === name) running.controllers.get(id.toLowerCase())?.abort(new Error('job cancelled'));
    }
  }

  async depth(name?: string): Promise<number> {
    const boss = this.#open();
    try {
      // Straight from the job table: pg-boss's own counts are a cache refreshed by the supervisor.
      const { rows } = await boss
        .getDb()
        .executeSql(
          `SELECT count(*)::int AS n FROM ${this.#schema}.job WHERE state < 'active' AND ($1::text IS NULL OR name = $1)`,
          [name ?? null],
        );
      return Number((rows[0] as { n: number }).n);
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
    await this.#schedules.stop();
    const boss = this.#boss;
    if (boss === undefined) return;
    const graceful = options?.graceful ?? true;
    const names = [...this.#workedQueues];
    this.#workedQueues.clear();
    // offWork stops fetching; with `wait` it resolves once the handlers in flight have returned.
    const drained = Promise.allSettled(names.map((name) => boss.offWork(name, { wait: true })));
    if (graceful) await raceTimeout(drained, options?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    if (this.#running.size > 0) {
      this.#abandonInFlight();
      await raceTimeout(drained, ABORT_SETTLE_MS);
    }
  }

  async close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.stop();
    this.#state = 'closed';
    const boss = this.#boss;
    this.#boss = undefined;
    if (boss !== undefined) await boss.stop({ graceful: false, close: true });
  }

  #open(): PgBoss {
    if (this.#boss === undefined || this.#state === 'closed') {
      throw new PushkeeperError('PK_ERR_QUEUE_UNAVAILABLE', 'The queue is not started or already closed.');
    }
    return this.#boss;
  }

  /** createQueue once per name and process; pg-boss makes it idempotent across processes. */
  async #ensureQueue(name: string): Promise<void> {
    let created = this.#queues.get(name);
    if (created === undefined) {
      const heartbeat = this.#options.heartbeatSeconds === undefined ? 30 : this.#options.heartbeatSeconds;
      created = this.#open().createQueue(name, {
        notify: true,
        retryLimit: DEFAULT_RETRY_LIMIT,
        expireInSeconds: this.#options.expireInSeconds ?? 900,
        ...(heartbeat === null ? {} : { heartbeatSeconds: heartbeat }),
      });
      this.#queues.set(name, created);
      created.catch(() => this.#queues.delete(name));
    }
    await created;
  }

  #toInsert(data: unknown, options: ResolvedEnqueueOptions): JobInsert {
    return {
      id: options.id ?? randomUUID(),
      data: (data ?? null) as object,
      priority: options.priority,
      retryLimit: options.retryLimit,
      // pg-boss counts retry delays in whole seconds.
      retryDelay: Math.ceil(options.retryDelayMs / 1000),
      retryBackoff: options.retryBackoff,
      // A bare number of seconds is cast to an interval from the database's now(), so the delay
      // does not depend on this host's clock.
      ...(options.startAfterMs > 0 ? { startAfter: String(options.startAfterMs / 1000) } : {}),
    };
  }

  async #handle<T>(name: string, bossJobs: BossJob<T>[], handler: JobHandler<T>): Promise<JobResult[]> {
    const controllers = new Map(bossJobs.map((job) => [job.id, new AbortController()]));
    const stopped = new AbortController();
    const jobs: Job<T>[] = bossJobs.map((job) => ({
      id: job.id,
      name,
      data: job.data,
      retryCount: job.retryCount,
      // pg-boss hands a job out again only as a retry (a failure, an expiry, a lapsed heartbeat).
      firstDelivery: job.retryCount === 0,
      signal: AbortSignal.any([job.signal, controllers.get(job.id)!.signal, stopped.signal]),
    }));
    const running: Running = { name, controllers, stopped };
    this.#running.add(running);
    try {
      await handler(jobs);
      if (stopped.signal.aborted) throw new Error('queue stopped while the job was running');
      return bossJobs.map((job) => ({ id: job.id, status: 'completed' }));
    } catch (error) {
      if (!isPermanentJobError(error)) throw error;
      // `deadletter` without a dead letter queue is a terminal failure that skips the retries left.
      return bossJobs.map((job) => ({
        id: job.id,
        status: 'deadletter',
        output: { message: errorMessage(error) },
      }));
    } finally {
      this.#running.delete(running);
      this.#fetchAgain(name);
    }
  }

  /**
   * pg-boss sleeps a polling interval after every batch, which would cap a backlog at
   * concurrency x batchSize jobs per interval. Where there was work there may be more, so the
   * workers holding jobs right now (the one finishing this batch among them) fetch again as soon
   * as they have settled them: their notified flag skips the sleep. An empty fetch falls back to
   * polling. Idle workers are left asleep: waking every worker of the queue after every job made
   * 8 fetches per fan-out job in each process, most of them empty, and in the cluster latency
   * bench the fetches (~40 per push, with pg-boss's own wake-up of every worker on each NOTIFY)
   * kept both cores busy at 50 pushes/s. New jobs wake idle workers through NOTIFY.
   */
  #fetchAgain(name: string): void {
    const boss = this.#boss;
    if (boss === undefined || this.#state !== 'started') return;
    for (const worker of boss.getWipData()) {
      if (worker.name === name && worker.count > 0) boss.notifyWorker(worker.id);
    }
  }

  /**
   * Handlers that outlived the stop's grace: abort them. #handle turns an aborted attempt into a
   * failure, so pg-boss hands the job back as a retry (spending one) instead of completing it.
   */
  #abandonInFlight(): void {
    const left = [...this.#running];
    this.#running.clear();
    for (const running of left) {
      running.stopped.abort(new Error('queue stopped'));
    }
  }

  async #runDueSchedules(): Promise<number | null> {
    const boss = this.#open();
    const db = boss.getDb();
    if (db.beginTransaction === undefined) throw new TypeError('pg-boss database lacks transactions');
    const now = Math.floor(this.#now());
    try {
      const tx = await db.beginTransaction();
      try {
        const { rows } = await tx.db.executeSql(claimDueSchedulesSql(this.#schema), [now]);
        for (const row of rows as { name: string; data: unknown }[]) {
          await this.#ensureQueue(row.name);
          await boss.insert(row.name, [this.#toInsert(row.data, resolveEnqueueOptions(undefined))], {
            db: tx.db,
          });
        }
        await tx.commit();
      } catch (error) {
        await tx.rollback();
        throw error;
      }
      const { rows } = await db.executeSql(nextScheduleSql(this.#schema));
      const at = (rows[0] as { at: string | null } | undefined)?.at;
      return at === null || at === undefined ? null : Number(at) - now;
    } catch (error) {
      throw asQueueError(error, 'run schedules');
    }
  }
}
