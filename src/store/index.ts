/**
 * `openStore({url, secretKey})`: the one way to get a Store. The URL picks the database folder
 * (connection setup and capabilities only); everything else is the shared implementation.
 */
import { sql } from 'kysely';
import { PushkeeperError } from '../errors.ts';
import { SqlApiKeyStore } from './api-keys.ts';
import { SqlAppStore } from './apps.ts';
import type { StoreConnection } from './connection.ts';
import type { OpenStoreOptions, Store } from './contract.ts';
import { CredentialCipher } from './credential-cipher.ts';
import { CursorSealer } from './cursor.ts';
import { SqlDeviceStore } from './devices.ts';
import { SqlFeedbackPollStore } from './feedback-polls.ts';
import { SqlInvalidationStore } from './invalidations.ts';
import { migrateToLatest } from './migrations.ts';
import { SqlNotificationStore } from './notifications.ts';
import { openPostgres } from './postgres/open-postgres.ts';
import { openSqlite } from './sqlite/open-sqlite.ts';

export type * from './contract.ts';
export { FINAL_NOTIFICATION_STATUSES } from './contract.ts';
export { decideInvalidation } from './invalidations.ts';

/** `sqlite:/abs/file.db`, `sqlite:relative.db`, `sqlite://` + path, `sqlite::memory:`. */
export function sqlitePathFromUrl(url: string): string | null {
  if (!url.startsWith('sqlite:')) return null;
  const rest = url.slice('sqlite:'.length);
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  return path.length > 0 ? path : null;
}

function connect(options: OpenStoreOptions): StoreConnection {
  const sqlitePath = sqlitePathFromUrl(options.url);
  if (sqlitePath !== null) {
    return openSqlite({
      path: sqlitePath,
      ...(options.sqliteSynchronous ? { synchronous: options.sqliteSynchronous } : {}),
      ...(options.sqliteBusyTimeoutMs !== undefined ? { busyTimeoutMs: options.sqliteBusyTimeoutMs } : {}),
    });
  }
  if (/^postgres(ql)?:\/\//.test(options.url)) {
    return openPostgres({
      connectionString: options.url,
      ...(options.postgresPoolSize !== undefined ? { poolSize: options.postgresPoolSize } : {}),
    });
  }
  throw new PushkeeperError(
    'PK_ERR_CONFIG_INVALID',
    'The database URL must start with sqlite: or postgres://.',
    {
      scheme: options.url.split(':')[0],
    },
  );
}

export function openStore(options: OpenStoreOptions): Store {
  const cipher = new CredentialCipher(options.secretKey);
  const cursors = new CursorSealer(options.secretKey);
  const connection = connect(options);
  const { db } = connection;
  return {
    kind: connection.kind,
    apps: new SqlAppStore(db, cipher, connection.capabilities),
    keys: new SqlApiKeyStore(db),
    devices: new SqlDeviceStore(db, connection.capabilities, cursors),
    invalidations: new SqlInvalidationStore(db, connection.capabilities, cursors),
    notifications: new SqlNotificationStore(db, connection.capabilities, cursors),
    feedbackPolls: new SqlFeedbackPollStore(db),
    migrate: () => migrateToLatest(connection),
    async ping() {
      try {
        await sql`select 1`.execute(db);
      } catch (error) {
        throw new PushkeeperError('PK_ERR_STORE_UNAVAILABLE', undefined, undefined, { cause: error });
      }
    },
    close: () => connection.close(),
  };
}
