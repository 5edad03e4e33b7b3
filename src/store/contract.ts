/**
 * The store contract: what the HTTP API, the push pipeline and the feedback schedule may ask of the
 * registry, whatever database sits behind it (docs/store.md).
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
import type { AppStore } from './contract/apps.ts';
import type { ApiKeyStore } from './contract/api-keys.ts';
import type { DeviceStore } from './contract/devices.ts';
import type { InvalidationStore } from './contract/invalidations.ts';
import type { NotificationStore } from './contract/notifications.ts';
import type { FeedbackPollStore } from './contract/feedback-polls.ts';

export * from './contract/paging.ts';
export * from './contract/apps.ts';
export * from './contract/api-keys.ts';
export * from './contract/devices.ts';
export * from './contract/invalidations.ts';
export * from './contract/notifications.ts';
export * from './contract/feedback-polls.ts';

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
