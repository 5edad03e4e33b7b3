/**
 * The one job-queue contract (docs/queue.md). Two implementations: `embedded/` (in-process, durable
 * in a SQLite file) and `pgboss/` (pg-boss 12 on PostgreSQL, for `pushkeeper worker` processes).
 * The service layer knows this file only; test/queue/conformance.ts holds both to it.
 *
 * Delivery is at-least-once: a job whose worker dies mid-handler runs again, so handlers must be
 * idempotent (the pipeline checkpoints per device and re-sends with the same apns-id).
 */

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'failed' | 'cancelled';

/** A claimed job, as a handler receives it. */
export interface Job<T = unknown> {
  readonly id: string;
  /** The queue name. */
  readonly name: string;
  readonly data: T;
  /**
   * How many attempts came before this one (0 on the first run). An attempt cut short by a crash
   * counts in the cluster queue (pg-boss spends a retry on takeover), not in the embedded one.
   */
  readonly retryCount: number;
  /**
   * True when no handler has been given this job before: no earlier attempt, not even one a crash
   * cut short (which `retryCount` does not count in the embedded queue). A handler may then skip
   * looking for the traces of earlier attempts. Absent when the queue cannot tell.
   */
  readonly firstDelivery?: boolean;
  /**
   * Aborted when the queue gives up on this attempt: a stop whose grace ran out, or (cluster) the
   * job's claim lapsed and another worker may have it. A handler should stop sending when it fires.
   */
  readonly signal: AbortSignal;
}

export interface EnqueueOptions {
  /**
   * The job id, a UUID. Enqueueing an id that already exists inserts nothing (idempotent enqueue:
   * derive the id from what the job is for, e.g. a notification's page, and re-enqueue freely).
   * Default: a random UUID.
   */
  readonly id?: string;
  /** Not before this many milliseconds from now. Default 0. */
  readonly startAfterMs?: number;
  /** Retries after the first attempt fails. Default 3. */
  readonly retryLimit?: number;
  /** Delay before a retry. Default 1000. The cluster queue rounds it up to whole seconds. */
  readonly retryDelayMs?: number;
  /** Exponential backoff with jitter on top of retryDelayMs. Default true. */
  readonly retryBackoff?: boolean;
  /** Higher runs first among jobs that are due. Integer, default 0. */
  readonly priority?: number;
}

export interface EnqueueRequest<T = unknown> {
  readonly data: T;
  readonly options?: EnqueueOptions;
}

export interface WorkOptions {
  /** Handler invocations running at once in this process for this queue. Default 1. */
  readonly concurrency?: number;
  /** Most jobs handed to one invocation. Default 1. */
  readonly batchSize?: number;
}

/**
 * Settles the whole batch: resolving completes every job, throwing fails every job (retried with
 * backoff while retries remain), throwing a `PermanentJobError` fails them without retry.
 */
export type JobHandler<T> = (jobs: readonly Job<T>[]) => Promise<void>;

export interface JobInfo<T = unknown> {
  readonly id: string;
  readonly name: string;
  readonly state: JobState;
  readonly data: T;
  /** Retries started so far: 0 until the first retry begins (pg-boss's count). */
  readonly retryCount: number;
  readonly retryLimit: number;
  /** The message of the last failure, if any. */
  readonly lastError?: string;
}

export interface StopOptions {
  /** Wait for in-flight handlers (true, default) or abort them at once. */
  readonly graceful?: boolean;
  /** How long a graceful stop waits before aborting what is left. Default 30 000. */
  readonly timeoutMs?: number;
}

export interface JobQueue {
  /** Creates tables (idempotent), reclaims what a dead process left, starts the schedule timer. */
  start(): Promise<void>;
  /** Persists one job; resolves once it is durable. Returns its id. */
  enqueue<T>(name: string, data: T, options?: EnqueueOptions): Promise<string>;
  /** Persists many jobs of one queue in one transaction (fan-out pages). Ids in request order. */
  enqueueMany<T>(name: string, jobs: readonly EnqueueRequest<T>[]): Promise<string[]>;
  /** Registers a handler; workers start fetching at once. One registration per name and instance. */
  work<T>(name: string, options: WorkOptions, handler: JobHandler<T>): Promise<void>;
  /**
   * A recurring job: `name` gets a job every `intervalMs`, once per interval across every process
   * sharing the database (a claim row decides). The first run is due at once; calling it again
   * with the same interval keeps the running cadence, a new interval restarts it from now.
   */
  schedule(name: string, intervalMs: number, data?: unknown): Promise<void>;
  unschedule(name: string): Promise<void>;
  /**
   * Claims and enqueues every schedule that is due now. The schedule timer calls it; exposed so a
   * test or an operator command can drive schedules deterministically.
   */
  runDueSchedules(): Promise<void>;
  getJob<T = unknown>(name: string, id: string): Promise<JobInfo<T> | null>;
  /** Cancels a job that has not finished; a running handler's completion is then ignored. */
  cancel(name: string, id: string): Promise<void>;
  /** Jobs waiting (created or retry, including delayed ones), for one queue or all. */
  depth(name?: string): Promise<number>;
  /** Stops fetching and waits for in-flight handlers (see StopOptions). Enqueue still works. */
  stop(options?: StopOptions): Promise<void>;
  /** Graceful stop, then releases the connection. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_RETRY_LIMIT = 3;
export const DEFAULT_RETRY_DELAY_MS = 1000;
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isJobId(value: string): boolean {
  return UUID.test(value);
}

const QUEUE_NAME = /^[\w.\-/]{1,100}$/;

/** pg-boss's rule for queue names (alphanumerics, `_ . - /`); the embedded queue keeps it too. */
export function isQueueName(value: string): boolean {
  return QUEUE_NAME.test(value);
}
