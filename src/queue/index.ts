/** The job-queue contract and its two implementations (docs/queue.md). */
export type {
  EnqueueOptions,
  EnqueueRequest,
  Job,
  JobHandler,
  JobInfo,
  JobQueue,
  JobState,
  StopOptions,
  WorkOptions,
} from './contract.ts';
export { DEFAULT_RETRY_DELAY_MS, DEFAULT_RETRY_LIMIT, DEFAULT_STOP_TIMEOUT_MS } from './contract.ts';
export { EmbeddedJobQueue, type EmbeddedJobQueueOptions } from './embedded/embedded-queue.ts';
export { isPermanentJobError, PermanentJobError } from './permanent-job-error.ts';
export { PgBossJobQueue, type PgBossJobQueueOptions } from './pgboss/pgboss-queue.ts';
