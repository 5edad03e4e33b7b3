/** Store contract: notifications and per-device outcomes (see ../contract.ts for the conventions). */
import type { Audience, DeviceToken, Environment, Result } from '../../domain/index.ts';
import type { Page, PageRequest } from './paging.ts';

export type NotificationStatus = 'queued' | 'sending' | 'done' | 'failed' | 'cancelled';
export const FINAL_NOTIFICATION_STATUSES: readonly NotificationStatus[] = ['done', 'failed', 'cancelled'];

export interface NotificationCounts {
  readonly targeted: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly invalidated: number;
  readonly failed: number;
  /** targeted minus every recorded outcome. */
  readonly pending: number;
}

export interface Notification {
  readonly id: string;
  readonly appId: string;
  readonly audience: Audience;
  /** The exact serialised payload bytes as UTF-8 text: serialised once, sent as is. */
  readonly payload: string;
  /** The validated NotificationOptions as JSON (store does not interpret them). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly status: NotificationStatus;
  readonly counts: NotificationCounts;
  readonly idempotencyKey: string | null;
  /** Why the notification failed (status `failed`), e.g. credentials unhealthy. */
  readonly failureReason: string | null;
  /** Fan-out checkpoint: the audience cursor after the last page handed to the queue. */
  readonly fanoutCursor: string | null;
  readonly fanoutComplete: boolean;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly completedAt: Date | null;
}

export interface CreateNotificationInput {
  /** Generated (`ntf_…`) when absent. */
  readonly id?: string;
  readonly audience: Audience;
  readonly payload: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly idempotencyKey?: string | null;
  /**
   * Fingerprint of the request for the idempotency check (e.g. SHA-256 of the canonical body);
   * defaults to a hash of audience + payload + options.
   */
  readonly requestHash?: string;
}

export interface CreateNotificationResult {
  readonly notification: Notification;
  /** false when an earlier request with the same Idempotency-Key answered this notification. */
  readonly created: boolean;
}

export type OutcomeKind = 'accepted' | 'rejected' | 'failed' | 'invalidated';

export interface OutcomeInput {
  readonly token: DeviceToken;
  readonly outcome: OutcomeKind;
  /** APNs reason for rejected/invalidated, catalogue code for failed; null for accepted. */
  readonly reason?: string | null;
  readonly apnsId?: string | null;
  readonly at?: Date;
}

export interface Outcome {
  readonly token: DeviceToken;
  readonly outcome: OutcomeKind;
  readonly reason: string | null;
  readonly apnsId: string | null;
  readonly at: Date;
}

/** A device of a send batch, as a later run of the batch needs it. */
export interface BatchDevice {
  readonly token: DeviceToken;
  readonly environment: Environment;
}

/** What earlier runs of one send batch committed. */
export interface BatchCheckpoint {
  /** How many runs of the batch committed; 0 when none did (send every device of the batch). */
  readonly commits: number;
  /** After a commit: the devices a later run must still send; empty once the batch is complete. */
  readonly remaining: readonly BatchDevice[];
}

export type BatchCounts = Readonly<Record<OutcomeKind, number>>;

/** One run of a send batch, committed at once (NotificationStore.commitBatch). */
export interface BatchCommit {
  /** The batch's identity: its send job's id, derived from (notification, page). */
  readonly batch: string;
  /** The checkpoint's `commits` this run started from (0 for a first run): the commit applies only if it is unchanged. */
  readonly after: number;
  /** What this run decided, added to the notification's counts. */
  readonly counts: BatchCounts;
  /** Rows of the outcomes table: every outcome but `accepted`, and `accepted` ones too when the notification records deliveries. */
  readonly outcomes: readonly OutcomeInput[];
  /** Devices APNs accepted: their last_success_at becomes `successAt` where it is older than `successAt - successMaxAgeMs` (or unset). */
  readonly succeeded: readonly DeviceToken[];
  readonly successAt: Date;
  readonly successMaxAgeMs: number;
  /** Devices left for a later run (retryable failures); empty completes the batch. */
  readonly remaining: readonly BatchDevice[];
}

export type CancelResult = 'cancelled' | 'already-final' | 'not-found';

export interface NotificationStore {
  /** Same idempotency key + same request → the existing one; different request → PK_ERR_IDEMPOTENCY_CONFLICT. */
  create(appId: string, input: CreateNotificationInput, at?: Date): Promise<Result<CreateNotificationResult>>;
  get(appId: string, id: string): Promise<Notification | null>;
  list(appId: string, page?: PageRequest): Promise<Result<Page<Notification>>>;
  /**
   * Compare-and-set status change: applies only when the current status is one of `from`; sets
   * started_at on `sending`, completed_at on a final status. Answers whether it applied.
   */
  transition(
    appId: string,
    id: string,
    from: readonly NotificationStatus[],
    to: NotificationStatus,
    options?: { readonly at?: Date; readonly failureReason?: string },
  ): Promise<boolean>;
  /** Cancels unless already final; the pipeline checks status before sending each batch. */
  cancel(appId: string, id: string, at?: Date): Promise<CancelResult>;
  /** Records a fan-out checkpoint: adds `targeted` to the count, stores the cursor, marks completion. */
  checkpointFanout(
    appId: string,
    id: string,
    checkpoint: {
      readonly cursor: string | null;
      readonly targetedDelta: number;
      readonly complete: boolean;
    },
  ): Promise<void>;
  /**
   * Records outcomes idempotently (first outcome per (notification, token) wins) and adds only the
   * newly recorded ones to the counts, in one transaction. Answers how many were new. With
   * `successAt`, the devices of the accepted outcomes get that `last_success_at` in the same
   * transaction (what `devices.markSuccess` does, without a second commit).
   */
  recordOutcomes(
    appId: string,
    id: string,
    outcomes: readonly OutcomeInput[],
    options?: { readonly successAt?: Date },
  ): Promise<number>;
  /** Which of these tokens have an outcome row (every non-accepted outcome; accepted ones where deliveries are recorded). */
  recordedTokens(
    appId: string,
    id: string,
    tokens: readonly DeviceToken[],
  ): Promise<ReadonlySet<DeviceToken>>;
  /** What earlier runs of the send batch `batch` committed (commits 0: none did). */
  batchCheckpoint(appId: string, id: string, batch: string): Promise<BatchCheckpoint>;
  /**
   * Commits one run of a send batch in one transaction (one statement where the database has
   * data-modifying WITH): its checkpoint, counts, outcome rows and coarse last_success_at marks.
   * Applies only if the checkpoint still has `after` commits — so a batch's counts land once however
   * often its job runs — and only to a notification of this app. Answers whether it applied.
   */
  commitBatch(appId: string, id: string, commit: BatchCommit): Promise<boolean>;
  /** Outcomes other than accepted, keyset-paged by token. */
  listFailures(appId: string, id: string, page?: PageRequest): Promise<Result<Page<Outcome>>>;
  /** Crash recovery: notifications of every app still `queued` or `sending`, oldest first. */
  listResumable(page?: PageRequest): Promise<Result<Page<Notification>>>;
  /**
   * Retention: deletes every final (`done`, `failed`, `cancelled`) notification, of every app,
   * completed before `before`, with its outcomes and counts. Outcomes go in bounded transactions
   * (a broadcast holds one per device), so writers are never held up for long. Answers how many
   * notifications were deleted.
   */
  purge(before: Date): Promise<number>;
}
