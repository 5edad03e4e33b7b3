/**
 * The store contract: what the HTTP API, the push pipeline and the feedback schedule may ask of the
 * registry, whatever database sits behind it (issue 5, PRODUCT.md "Resources").
 *
 * Conventions every method follows:
 * - Every app-scoped method takes the app id first and never reads or writes another app's rows
 *   (tenant isolation); an unknown app id behaves like an app without data (or answers
 *   PK_ERR_APP_NOT_FOUND where something would be created in it).
 * - Bad input is a `Result` failure with a catalogue code, and nothing is written. Database
 *   failures throw `PushkeeperError` (PK_ERR_STORE_UNAVAILABLE and friends).
 * - Times are `Date`s in and out; the database holds UTC epoch milliseconds.
 * - Absent values are `null` in rows (never `undefined`), so rows serialise as they are stored.
 * - Cursors are opaque base64url strings; a malformed one is PK_ERR_CURSOR_INVALID.
 */
import type { Audience, DeviceToken, Environment, Problem, Result } from '../domain/index.ts';

// ------------------------------------------------------------------------------------------------
// Apps
// ------------------------------------------------------------------------------------------------

/** APNs credentials as the app gave them; stored encrypted (AES-256-GCM, AAD = app id + topic). */
export type ApnsCredentials =
  | {
      readonly auth: 'token';
      readonly teamId: string;
      readonly keyId: string;
      /** The `.p8` PEM text. */
      readonly privateKey: string;
    }
  | {
      readonly auth: 'certificate';
      readonly certPem: string;
      readonly keyPem: string;
      readonly passphrase?: string;
    }
  | {
      readonly auth: 'certificate';
      readonly p12Base64: string;
      readonly passphrase?: string;
    };

/** Per-app APNs hosts, e.g. a mock server or a proxy; absent = Apple's hosts. */
export interface AppEndpoints {
  readonly production: string | null;
  readonly sandbox: string | null;
  readonly caPem: string | null;
}

export interface AppFeedbackSettings {
  readonly host: string;
  readonly port: number;
  /** null = the server-wide PUSHKEEPER_FEEDBACK_INTERVAL_HOURS. */
  readonly intervalHours: number | null;
  readonly caPem: string | null;
}

export interface AppWebhook {
  readonly url: string;
  /** Plain text here; stored encrypted like the credentials. */
  readonly secret: string;
}

export type CredentialsHealth =
  | { readonly status: 'healthy' }
  | { readonly status: 'unhealthy'; readonly reason: string; readonly since: Date };

/** An app as listed: everything except secrets. */
export interface App {
  readonly id: string;
  readonly name: string;
  readonly topic: string;
  readonly authKind: ApnsCredentials['auth'];
  readonly endpoints: AppEndpoints | null;
  readonly feedback: AppFeedbackSettings | null;
  /** The webhook url only; its secret is in `AppSecrets`. */
  readonly webhookUrl: string | null;
  readonly credentialsHealth: CredentialsHealth;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Decrypted secrets, for the service only; never put in an API answer. */
export interface AppSecrets {
  readonly credentials: ApnsCredentials;
  readonly webhook: AppWebhook | null;
}

export interface CreateAppInput {
  /** Generated (`app_…`) when absent. */
  readonly id?: string;
  readonly name: string;
  readonly topic: string;
  readonly credentials: ApnsCredentials;
  readonly endpoints?: AppEndpoints | null;
  readonly feedback?: AppFeedbackSettings | null;
  readonly webhook?: AppWebhook | null;
}

/** Fields present are changed; `null` clears an optional setting. Changing topic re-encrypts. */
export interface UpdateAppInput {
  readonly name?: string;
  readonly topic?: string;
  readonly credentials?: ApnsCredentials;
  readonly endpoints?: AppEndpoints | null;
  readonly feedback?: AppFeedbackSettings | null;
  readonly webhook?: AppWebhook | null;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; null when this was the last one. */
  readonly nextCursor: string | null;
}

export interface PageRequest {
  readonly cursor?: string | null | undefined;
  /** 1..1000, default 100. */
  readonly limit?: number | undefined;
}

export interface AppStore {
  create(input: CreateAppInput, at?: Date): Promise<Result<App>>;
  get(appId: string): Promise<App | null>;
  list(page?: PageRequest): Promise<Result<Page<App>>>;
  update(appId: string, input: UpdateAppInput, at?: Date): Promise<Result<App>>;
  /** Deletes the app and everything in it (devices, keys, notifications, invalidations). */
  delete(appId: string): Promise<boolean>;
  /** Throws PK_ERR_DECRYPT_FAILED if the secret key is not the one that encrypted them. */
  getSecrets(appId: string): Promise<AppSecrets | null>;
  setCredentialsHealth(appId: string, health: CredentialsHealth, at?: Date): Promise<boolean>;
  /** Apps with a feedback service configured, for the schedule (not app-scoped by design). */
  listWithFeedback(): Promise<readonly App[]>;
}

// ------------------------------------------------------------------------------------------------
// API keys
// ------------------------------------------------------------------------------------------------

export type ApiKeyScope = 'admin' | 'server' | 'publishable';

export interface ApiKey {
  readonly id: string;
  /** null for admin keys. */
  readonly appId: string | null;
  readonly scope: ApiKeyScope;
  /** The first characters of the secret (`pk_server_ab12`), to recognise a key in a list. */
  readonly prefix: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

export interface CreateApiKeyInput {
  /** Generated (`key_…`) when absent. */
  readonly id?: string;
  /** null only with scope `admin`. */
  readonly appId: string | null;
  readonly scope: ApiKeyScope;
  readonly prefix: string;
  /** Lower-case hex SHA-256 of the whole secret; the caller generates the secret and hashes it. */
  readonly sha256: string;
}

export interface ApiKeyStore {
  create(input: CreateApiKeyInput, at?: Date): Promise<Result<ApiKey>>;
  /** For authentication; revoked keys are returned too (the caller checks `revokedAt`). */
  findByHash(sha256: string): Promise<ApiKey | null>;
  /** Keys of one app (admin keys with appId null). */
  list(appId: string | null): Promise<readonly ApiKey[]>;
  revoke(appId: string | null, keyId: string, at?: Date): Promise<boolean>;
  /** Cheap: writes only when the stored value is older than `granularityMs` (default 60 s). */
  touch(keyId: string, at?: Date, granularityMs?: number): Promise<void>;
}

// ------------------------------------------------------------------------------------------------
// Devices
// ------------------------------------------------------------------------------------------------

export interface Device {
  readonly token: DeviceToken;
  readonly environment: Environment;
  readonly alias: string | null;
  /** Sorted, unique. */
  readonly tags: readonly string[];
  readonly locale: string | null;
  readonly createdAt: Date;
  readonly lastRegisteredAt: Date;
  readonly lastSuccessAt: Date | null;
  readonly invalidSince: Date | null;
  readonly invalidReason: string | null;
}

/**
 * A register/refresh call (PUT semantics on the fields given): an absent field keeps the stored
 * value (defaults for a new device: production, no alias, no tags, no locale); `alias: null` and
 * `locale: null` clear; `tags` replaces the set. Values are validated with the domain parsers.
 */
export interface DeviceInput {
  readonly token: unknown;
  readonly environment?: unknown;
  readonly alias?: unknown;
  readonly tags?: unknown;
  readonly locale?: unknown;
}

export interface RegisterResult {
  readonly device: Device;
  /** true when the (app, token) pair did not exist before this call. */
  readonly created: boolean;
}

/** What the audience stream hands the pipeline: just enough to send. */
export interface AudienceDevice {
  readonly token: DeviceToken;
  readonly environment: Environment;
  readonly locale: string | null;
}

export interface AudiencePage {
  readonly devices: readonly AudienceDevice[];
  /** Resumes the stream right after this page (a fan-out checkpoint). */
  readonly cursor: string;
}

export interface StreamAudienceOptions {
  /** 1..10,000, default 1,000: at most this many rows are held at once. */
  readonly pageSize?: number;
  /** A page's `cursor` to resume after it. */
  readonly after?: string | null;
}

export type DeviceFilter =
  | { readonly alias: string }
  | { readonly tag: string }
  | { readonly environment: Environment }
  | { readonly all: true };

export interface ImportCounts {
  readonly created: number;
  readonly updated: number;
  /** Lines that failed validation; they are reported through `onRejected` and skipped. */
  readonly rejected: number;
}

export interface ImportOptions {
  /** Rows per transaction, 1 to 100,000, default 1,000. */
  readonly batchSize?: number;
  readonly at?: Date;
  /** Called for each invalid input with its 0-based position; the import goes on. */
  readonly onRejected?: (index: number, error: Problem) => void;
  /** Called after each committed batch with the running counts (progress bars). */
  readonly onProgress?: (counts: ImportCounts) => void;
}

export type AliasBindResult = { readonly previousAlias: string | null };

export interface DeviceStore {
  register(appId: string, input: DeviceInput, at?: Date): Promise<Result<RegisterResult>>;
  get(appId: string, token: string): Promise<Result<Device | null>>;
  /** Unregisters (deletes) the device; false when it did not exist. */
  delete(appId: string, token: string): Promise<Result<boolean>>;
  /** Binds (moves) the device to `alias`; PK_ERR_DEVICE_NOT_FOUND if the device is unknown. */
  bindAlias(appId: string, token: string, alias: string): Promise<Result<AliasBindResult>>;
  /** Logout on one device; false when the device is unknown. */
  unbindAlias(appId: string, token: string): Promise<Result<boolean>>;
  /** Logout everywhere: unbinds every device of the alias; answers how many. */
  unbindAllOfAlias(appId: string, alias: string): Promise<Result<number>>;
  addTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>>;
  removeTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>>;
  replaceTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>>;
  /** Keyset pages in a stable order; rows that exist for the whole walk appear exactly once. */
  list(appId: string, filter: DeviceFilter, page?: PageRequest): Promise<Result<Page<Device>>>;
  count(appId: string, filter?: DeviceFilter): Promise<number>;
  /**
   * The audience in keyset pages; at most `pageSize` rows are buffered. Duplicate entries in the
   * audience (tags shared by a device, repeated tokens) yield the device once.
   */
  streamAudience(
    appId: string,
    audience: Audience,
    options?: StreamAudienceOptions,
  ): AsyncIterable<AudiencePage>;
  /** Bulk register: batched transactions; each input behaves as one `register`. */
  import(
    appId: string,
    devices: AsyncIterable<DeviceInput> | Iterable<DeviceInput>,
    options?: ImportOptions,
  ): Promise<Result<ImportCounts>>;
  /** Every device of the app in keyset order, read in pages of `pageSize` (default 1,000). */
  export(appId: string, options?: { readonly pageSize?: number }): AsyncIterable<Device>;
  /** The pipeline's environment correction after a BadDeviceToken retry succeeded elsewhere. */
  setEnvironment(appId: string, token: DeviceToken, environment: Environment): Promise<boolean>;
  /** Sets last_success_at for accepted sends, batched in one statement per call. */
  markSuccess(appId: string, tokens: readonly DeviceToken[], at: Date): Promise<void>;
  /**
   * Marks a device invalid without removing it (invalid_since, invalid_reason): audience streams
   * skip it until it registers again, which clears the mark. Removal goes through `invalidate`.
   */
  markInvalid(
    appId: string,
    token: DeviceToken,
    mark: { readonly reason: string; readonly at: Date },
  ): Promise<boolean>;
}

// ------------------------------------------------------------------------------------------------
// Invalidations: the one place that decides whether an APNs report removes a device
// ------------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------------
// Notifications and per-device outcomes
// ------------------------------------------------------------------------------------------------

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
   * newly recorded ones to the counts, in one transaction. Answers how many were new.
   */
  recordOutcomes(appId: string, id: string, outcomes: readonly OutcomeInput[]): Promise<number>;
  /** Which of these tokens already have an outcome (to skip them when resuming after a crash). */
  recordedTokens(
    appId: string,
    id: string,
    tokens: readonly DeviceToken[],
  ): Promise<ReadonlySet<DeviceToken>>;
  /** Outcomes other than accepted, keyset-paged by token. */
  listFailures(appId: string, id: string, page?: PageRequest): Promise<Result<Page<Outcome>>>;
  /** Crash recovery: notifications of every app still `queued` or `sending`, oldest first. */
  listResumable(page?: PageRequest): Promise<Result<Page<Notification>>>;
}

// ------------------------------------------------------------------------------------------------
// Feedback polls
// ------------------------------------------------------------------------------------------------

export interface FeedbackPoll {
  readonly appId: string;
  readonly lastPollAt: Date;
  readonly summary: Readonly<Record<string, unknown>>;
}

export interface FeedbackPollStore {
  get(appId: string): Promise<FeedbackPoll | null>;
  record(appId: string, at: Date, summary: Readonly<Record<string, unknown>>): Promise<void>;
  /**
   * True for exactly one caller per (app, slot), across every process sharing the database: the
   * feedback service clears its list once read, so two processes polling one slot would each see
   * half of it (issue 7). Claims older than 30 days (far beyond the longest interval, 168 h) are
   * pruned as new ones are taken. An unknown app is never claimed (false).
   */
  claim(appId: string, slotStart: Date, now?: Date): Promise<boolean>;
}

// ------------------------------------------------------------------------------------------------
// The store
// ------------------------------------------------------------------------------------------------

export type StoreKind = 'sqlite' | 'postgres';

export interface MigrationReport {
  /** Names of migrations applied by this call (empty when already up to date). */
  readonly applied: readonly string[];
  readonly latest: string;
}

export interface Store {
  readonly kind: StoreKind;
  readonly apps: AppStore;
  readonly keys: ApiKeyStore;
  readonly devices: DeviceStore;
  readonly invalidations: InvalidationStore;
  readonly notifications: NotificationStore;
  readonly feedbackPolls: FeedbackPollStore;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<MigrationReport>;
  /** Readiness: resolves when a trivial query succeeds, throws PK_ERR_STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  /** Waits for running queries and closes the connections; idempotent. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `sqlite:/path/file.db`, `sqlite::memory:` or `postgres://…`. */
  readonly url: string;
  /** 32 bytes; encrypts credentials and webhook secrets at rest. */
  readonly secretKey: Buffer;
  /** SQLite durability: `normal` (default; survives process kills) or `full` (survives power loss). */
  readonly sqliteSynchronous?: 'normal' | 'full';
  /** SQLite busy timeout in ms (default 5,000). */
  readonly sqliteBusyTimeoutMs?: number;
  /** PostgreSQL pool size (default 10). */
  readonly postgresPoolSize?: number;
}
