/**
 * Enqueue and work options with their defaults filled in and checked once, so both queues apply
 * the same rules. A bad option is a programming error, so it throws a TypeError, not a Result.
 */
import {
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_RETRY_LIMIT,
  type EnqueueOptions,
  isJobId,
  isQueueName,
  type WorkOptions,
} from './contract.ts';

export interface ResolvedEnqueueOptions {
  readonly id: string | undefined;
  readonly startAfterMs: number;
  readonly retryLimit: number;
  readonly retryDelayMs: number;
  readonly retryBackoff: boolean;
  readonly priority: number;
}

function nonNegativeInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new TypeError(`${what} must be an integer >= 0`);
  return value;
}

export function assertQueueName(name: string): void {
  if (!isQueueName(name)) {
    throw new TypeError(`Queue name ${JSON.stringify(name)} must be 1-100 characters of A-Z a-z 0-9 _ . - /`);
  }
}

export function resolveEnqueueOptions(options: EnqueueOptions | undefined): ResolvedEnqueueOptions {
  const id = options?.id;
  if (id !== undefined && !isJobId(id)) throw new TypeError('A job id must be a UUID');
  const priority = options?.priority ?? 0;
  if (!Number.isInteger(priority)) throw new TypeError('priority must be an integer');
  const startAfterMs = options?.startAfterMs ?? 0;
  if (!Number.isFinite(startAfterMs) || startAfterMs < 0) throw new TypeError('startAfterMs must be >= 0');
  return {
    id: id?.toLowerCase(),
    startAfterMs,
    retryLimit: nonNegativeInteger(options?.retryLimit, DEFAULT_RETRY_LIMIT, 'retryLimit'),
    retryDelayMs: nonNegativeInteger(options?.retryDelayMs, DEFAULT_RETRY_DELAY_MS, 'retryDelayMs'),
    retryBackoff: options?.retryBackoff ?? true,
    priority,
  };
}

export interface ResolvedWorkOptions {
  readonly concurrency: number;
  readonly batchSize: number;
}

export function resolveWorkOptions(options: WorkOptions): ResolvedWorkOptions {
  const concurrency = options.concurrency ?? 1;
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError('concurrency must be an integer >= 1');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError('batchSize must be an integer >= 1');
  return { concurrency, batchSize };
}

export function assertInterval(intervalMs: number): void {
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new TypeError('intervalMs must be an integer >= 1');
}
