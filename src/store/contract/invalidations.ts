/**
 * Store contract: invalidations — the one place that decides whether an APNs report removes a
 * device (see ../contract.ts for the conventions).
 */
import type { DeviceToken, Result } from '../../domain/index.ts';
import type { Page, PageRequest } from './paging.ts';

export type InvalidationSource = 'apns-410' | 'apns-400' | 'feedback-service' | 'manual';

export interface InvalidationReport {
  /** `Unregistered`, `BadDeviceToken`, `DeviceTokenNotForTopic`, `ExpiredToken`, `feedback-service`… */
  readonly reason: string;
  readonly source: InvalidationSource;
  /** When APNs says the token stopped being valid (410 timestamp, feedback tuple time) or, lacking that, when we learned it. */
  readonly at: Date;
}

/**
 * - `removed`: last_registered_at < at: the device was deleted and an invalidation recorded.
 * - `kept-reregistered`: the device registered again at or after `at`; the stale report is recorded, the device kept.
 * - `already-removed`: no device, but a removal of this token was already recorded (a repeated report).
 * - `not-found`: no device and no record of one.
 */
export type InvalidationOutcome = 'removed' | 'kept-reregistered' | 'already-removed' | 'not-found';

export interface Invalidation {
  readonly id: string;
  readonly token: DeviceToken;
  readonly reason: string;
  readonly source: InvalidationSource;
  /** The report's `at`. */
  readonly apnsTimestamp: Date;
  readonly removedAt: Date;
}

export interface InvalidationBatchCounts {
  readonly removed: number;
  readonly keptReregistered: number;
  readonly alreadyRemoved: number;
  readonly notFound: number;
}

export interface InvalidateManyOptions {
  readonly batchSize?: number;
  /** The `removedAt` stamped on this call's records; default: the time each batch is applied. */
  readonly now?: Date;
  /**
   * Called once per report, after the transaction holding its decision committed (so a logged
   * removal is a durable one); a token repeated in the input is reported once per occurrence. Lets a caller log each removal without reading back.
   * An exception thrown here propagates out of `invalidateMany`; batches already committed stay.
   */
  readonly onOutcome?: (
    report: { readonly token: DeviceToken } & InvalidationReport,
    outcome: InvalidationOutcome,
  ) => void;
}

export interface InvalidationStore {
  invalidate(
    appId: string,
    token: DeviceToken,
    report: InvalidationReport,
    now?: Date,
  ): Promise<InvalidationOutcome>;
  /** The same rule for many reports (feedback service: 100,000 tuples), in batched transactions. */
  invalidateMany(
    appId: string,
    reports:
      | Iterable<{ readonly token: DeviceToken } & InvalidationReport>
      | AsyncIterable<{ readonly token: DeviceToken } & InvalidationReport>,
    options?: InvalidateManyOptions,
  ): Promise<InvalidationBatchCounts>;
  /** Removals (not stale reports) with removedAt >= since, oldest first, keyset-paged. */
  list(
    appId: string,
    query?: PageRequest & { readonly since?: Date | null },
  ): Promise<Result<Page<Invalidation>>>;
  /** Retention: deletes records (of every app) removed before `before`; answers how many. */
  purge(before: Date): Promise<number>;
}
