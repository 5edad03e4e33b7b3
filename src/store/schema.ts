/**
 * The tables as Kysely sees them. One shape for both databases: times are UTC epoch milliseconds
 * (INTEGER / BIGINT), booleans are 0/1 integers, JSON is text, secrets are bytes (BLOB / BYTEA).
 */
import type { Generated } from 'kysely';

export interface AppsTable {
  id: string;
  name: string;
  topic: string;
  auth_kind: string;
  /** credential-cipher.ts envelope of the credentials JSON. */
  credentials: Uint8Array;
  endpoints: string | null;
  feedback: string | null;
  webhook_url: string | null;
  webhook_secret: Uint8Array | null;
  health_status: string;
  health_reason: string | null;
  health_since: number | null;
  created_at: number;
  updated_at: number;
}

export interface ApiKeysTable {
  id: string;
  app_id: string | null;
  scope: string;
  prefix: string;
  sha256: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/**
 * An app's integer key (migration 0003): what devices and device_tags store instead of the app id.
 * Every device index starts with the app, so a 30-character id repeated in four B-trees was a
 * third of the registry's bytes; an integer is one to eight.
 */
export interface AppKeysTable {
  /** Never reused (AUTOINCREMENT / identity): a key read before an app's deletion can never name a newer app. */
  key: Generated<number>;
  app_id: string;
}

export interface DevicesTable {
  /** Surrogate key: the keyset order of every device walk, and device_tags' reference. */
  id: Generated<number>;
  /** app_keys.key of the app. */
  app_key: number;
  /** The token's bytes (32 for today's tokens); the contract's lower-case hex is made at the store boundary (rows.ts). */
  token: Uint8Array;
  environment: string;
  alias: string | null;
  /** Sorted JSON array; device_tags holds the same set for indexed tag queries. */
  tags: string;
  locale: string | null;
  created_at: number;
  last_registered_at: number;
  last_success_at: number | null;
  invalid_since: number | null;
  invalid_reason: string | null;
  /** How many register calls this device has had; 1 right after creation. */
  registrations: Generated<number>;
}

export interface DeviceTagsTable {
  app_key: number;
  tag: string;
  device_id: number;
}

export interface NotificationsTable {
  id: string;
  app_id: string;
  audience: string;
  payload: string;
  options: string;
  status: string;
  targeted: number;
  accepted: number;
  rejected: number;
  invalidated: number;
  failed: number;
  idempotency_key: string | null;
  request_hash: string;
  failure_reason: string | null;
  fanout_cursor: string | null;
  fanout_complete: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
}

export interface NotificationOutcomesTable {
  notification_id: string;
  token: string;
  outcome: string;
  reason: string | null;
  apns_id: string | null;
  at: number;
}

/**
 * Increments of a notification's counts, spread over a few rows per notification (migration 0004):
 * concurrent send jobs on PostgreSQL would otherwise queue on the notification's row lock, held
 * until each commit's WAL flush. A notification's counts are its row's plus the sum of these.
 */
export interface NotificationCountsTable {
  notification_id: string;
  shard: number;
  accepted: number;
  rejected: number;
  failed: number;
  invalidated: number;
}

/** One committed send batch (migration 0009): the checkpoint that replaces a row per device. */
export interface NotificationBatchesTable {
  notification_id: string;
  /** The send job's id, derived from (notification, page). */
  batch: string;
  /** Runs of the batch that committed; a run commits only if this is still what it read. */
  commits: number;
  /** JSON [token, environment letter] pairs a later run must still send; null when complete. */
  remaining: string | null;
  committed_at: number;
}

export interface InvalidationsTable {
  id: Generated<number>;
  app_id: string;
  token: string;
  reason: string;
  source: string;
  /** `removed` (listed for the app) or `stale` (a report older than the latest registration). */
  outcome: string;
  reported_at: number;
  removed_at: number;
}

export interface FeedbackPollsTable {
  app_id: string;
  last_poll_at: number;
  summary: string;
}

/** One row per (app, slot) some process claimed: the row is the claim (cluster-wide "poll once"). */
export interface FeedbackPollClaimsTable {
  app_id: string;
  slot_start: number;
  claimed_at: number;
}

export interface Database {
  apps: AppsTable;
  app_keys: AppKeysTable;
  api_keys: ApiKeysTable;
  devices: DevicesTable;
  device_tags: DeviceTagsTable;
  notifications: NotificationsTable;
  notification_outcomes: NotificationOutcomesTable;
  notification_counts: NotificationCountsTable;
  notification_batches: NotificationBatchesTable;
  invalidations: InvalidationsTable;
  feedback_polls: FeedbackPollsTable;
  feedback_poll_claims: FeedbackPollClaimsTable;
}
