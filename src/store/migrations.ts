/**
 * Versioned migrations, in code so they ship with the build. Names sort in order; a migration is
 * never edited once released, only followed by a new one. Both databases run the same steps; the
 * capability flags pick column types where they differ.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { PushkeeperError } from '../errors.ts';
import type { StoreCapabilities, StoreConnection } from './connection.ts';
import type { MigrationReport } from './contract.ts';

// Migrations work on any schema, not on the typed Database.
// biome-ignore lint/suspicious/noExplicitAny: Kysely's migrations are typed `Kysely<any>` by design.
type AnyDb = Kysely<any>;

function initialSchema(caps: StoreCapabilities): Migration {
  const big = caps.bigIntType;
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('apps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('auth_kind', 'text', (c) => c.notNull())
        .addColumn('credentials', caps.bytesType, (c) => c.notNull())
        .addColumn('endpoints', 'text')
        .addColumn('feedback', 'text')
        .addColumn('webhook_url', 'text')
        .addColumn('webhook_secret', caps.bytesType)
        .addColumn('health_status', 'text', (c) => c.notNull().defaultTo('healthy'))
        .addColumn('health_reason', 'text')
        .addColumn('health_since', big)
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('updated_at', big, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.references('apps.id').onDelete('cascade'))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('last_used_at', big)
        .addColumn('revoked_at', big)
        .execute();
      await db.schema.createIndex('api_keys_app').on('api_keys').columns(['app_id']).execute();

      await caps
        .addAutoIdColumn(db.schema.createTable('devices'), 'id')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('alias', 'text')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('locale', 'text')
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('last_registered_at', big, (c) => c.notNull())
        .addColumn('last_success_at', big)
        .addColumn('invalid_since', big)
        .addColumn('invalid_reason', 'text')
        // Incremented by every register call: RETURNING it tells a new device (1) from a refreshed
        // one without a read before the upsert.
        .addColumn('registrations', big, (c) => c.notNull().defaultTo(1))
        .execute();
      // Indexes for every walk: by token, all (app, id), alias; each ends in id so keyset pages are
      // index range scans. Listing by environment walks (app, id) and filters: it is an admin view,
      // and a fourth index would cost every registration and import more than it saves there.
      await db.schema
        .createIndex('devices_app_token')
        .unique()
        .on('devices')
        .columns(['app_id', 'token'])
        .execute();
      await db.schema.createIndex('devices_app_id').on('devices').columns(['app_id', 'id']).execute();
      await db.schema
        .createIndex('devices_app_alias')
        .on('devices')
        .columns(['app_id', 'alias', 'id'])
        .execute();

      await db.schema
        .createTable('device_tags')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('device_id', big, (c) => c.notNull().references('devices.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('device_tags_pk', ['app_id', 'tag', 'device_id'])
        .execute();
      await db.schema.createIndex('device_tags_device').on('device_tags').columns(['device_id']).execute();

      await db.schema
        .createTable('notifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
        .addColumn('audience', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('targeted', big, (c) => c.notNull().defaultTo(0))
        .addColumn('accepted', big, (c) => c.notNull().defaultTo(0))
        .addColumn('rejected', big, (c) => c.notNull().defaultTo(0))
        .addColumn('invalidated', big, (c) => c.notNull().defaultTo(0))
        .addColumn('failed', big, (c) => c.notNull().defaultTo(0))
        .addColumn('idempotency_key', 'text')
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('failure_reason', 'text')
        .addColumn('fanout_cursor', 'text')
        .addColumn('fanout_complete', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('started_at', big)
        .addColumn('completed_at', big)
        .execute();
      await db.schema
        .createIndex('notifications_app_idempotency')
        .unique()
        .on('notifications')
        .columns(['app_id', 'idempotency_key'])
        .execute();
      await db.schema
        .createIndex('notifications_app_created')
        .on('notifications')
        .columns(['app_id', 'created_at', 'id'])
        .execute();
      await db.schema
        .createIndex('notifications_status_created')
        .on('notifications')
        .columns(['status', 'created_at', 'id'])
        .execute();

      await db.schema
        .createTable('notification_outcomes')
        .addColumn('notification_id', 'text', (c) =>
          c.notNull().references('notifications.id').onDelete('cascade'),
        )
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('apns_id', 'text')
        .addColumn('at', big, (c) => c.notNull())
        // (notification, token) is the idempotency key that crash-safe resume relies on.
        .addPrimaryKeyConstraint('notification_outcomes_pk', ['notification_id', 'token'])
        .execute();

      await caps
        .addAutoIdColumn(db.schema.createTable('invalidations'), 'id', { monotonic: true })
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reported_at', big, (c) => c.notNull())
        .addColumn('removed_at', big, (c) => c.notNull())
        .execute();
      // One record per (token, outcome, report time): repeating a report writes nothing new.
      await db.schema
        .createIndex('invalidations_report')
        .unique()
        .on('invalidations')
        .columns(['app_id', 'token', 'outcome', 'reported_at'])
        .execute();
      await db.schema
        .createIndex('invalidations_app_outcome_id')
        .on('invalidations')
        .columns(['app_id', 'outcome', 'id'])
        .execute();
      await db.schema
        .createIndex('invalidations_removed_at')
        .on('invalidations')
        .columns(['removed_at'])
        .execute();

      await db.schema
        .createTable('feedback_polls')
        .addColumn('app_id', 'text', (c) => c.primaryKey().references('apps.id').onDelete('cascade'))
        .addColumn('last_poll_at', big, (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

/** A feedback poll slot is claimed by inserting its row; the primary key admits one. */
function feedbackPollClaims(caps: StoreCapabilities): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('feedback_poll_claims')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
        .addColumn('slot_start', caps.bigIntType, (c) => c.notNull())
        .addColumn('claimed_at', caps.bigIntType, (c) => c.notNull())
        .addPrimaryKeyConstraint('feedback_poll_claims_pk', ['app_id', 'slot_start'])
        .execute();
    },
  };
}

/** The device columns 0003 copies unchanged (everything but the app and the token). */
const KEPT_DEVICE_COLUMNS = [
  'id',
  'environment',
  'alias',
  'tags',
  'locale',
  'created_at',
  'last_registered_at',
  'last_success_at',
  'invalid_since',
  'invalid_reason',
  'registrations',
] as const;

/**
 * Import speed (≥ 100,000 devices/s): narrower device keys. devices and device_tags get the app
 * as an integer key (a new `app_keys` table) instead of its 30-character id, and the token as its
 * bytes instead of 64 hex digits. The app is the first column of all four device B-trees and the
 * token is in two; on 1,000,000 devices the file went from 344 to ~144 MB and the import's CPU
 * time fell by about a third (docs/store.md, "Narrower keys").
 *
 * Why a table and not a column on apps: SQLite cannot add a UNIQUE or generated column to an
 * existing table, and both databases already generate never-reused keys for a table of their own
 * (AUTOINCREMENT / identity): a key read before an app was deleted can never name a newer app.
 * apps → app_keys → devices → device_tags cascade on deletion as before.
 *
 * Existing rows are converted, not dropped: both tables are rebuilt with their rows copied (device
 * ids kept, so saved list and fan-out cursors stay valid), then swapped in under the old names.
 */
function narrowDeviceKeys(caps: StoreCapabilities): Migration {
  const big = caps.bigIntType;
  return {
    async up(db: AnyDb) {
      await caps
        .addAutoIdColumn(db.schema.createTable('app_keys'), 'key', { monotonic: true })
        .addColumn('app_id', 'text', (c) => c.notNull().unique().references('apps.id').onDelete('cascade'))
        .execute();
      await db
        .insertInto('app_keys')
        .columns(['app_id'])
        .expression(db.selectFrom('apps').select('id').orderBy('created_at').orderBy('id'))
        .execute();

      await caps
        .addAutoIdColumn(db.schema.createTable('devices_next'), 'id')
        .addColumn('app_key', big, (c) => c.notNull().references('app_keys.key').onDelete('cascade'))
        .addColumn('token', caps.bytesType, (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('alias', 'text')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('locale', 'text')
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('last_registered_at', big, (c) => c.notNull())
        .addColumn('last_success_at', big)
        .addColumn('invalid_since', big)
        .addColumn('invalid_reason', 'text')
        .addColumn('registrations', big, (c) => c.notNull().defaultTo(1))
        .execute();
      await db
        .insertInto('devices_next')
        .columns([...KEPT_DEVICE_COLUMNS, 'app_key', 'token'])
        .expression(
          db
            .selectFrom('devices as d')
            .innerJoin('app_keys as k', 'k.app_id', 'd.app_id')
            .select([
              ...KEPT_DEVICE_COLUMNS.map((column) => `d.${column}`),
              'k.key',
              caps.hexToBytes('d.token').as('token'),
            ])
            .orderBy('d.id'),
        )
        .execute();

      await db.schema
        .createTable('device_tags_next')
        .addColumn('app_key', big, (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('device_id', big, (c) => c.notNull().references('devices_next.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('device_tags_app_key_pk', ['app_key', 'tag', 'device_id'])
        .execute();
      await db
        .insertInto('device_tags_next')
        .columns(['app_key', 'tag', 'device_id'])
        .expression(
          db
            .selectFrom('device_tags as t')
            .innerJoin('app_keys as k', 'k.app_id', 't.app_id')
            .select(['k.key', 't.tag', 't.device_id'])
            .orderBy('k.key')
            .orderBy('t.tag')
            .orderBy('t.device_id'),
        )
        .execute();

      // Children first: dropping devices while device_tags still referenced it would cascade.
      await db.schema.dropTable('device_tags').execute();
      await db.schema.dropTable('devices').execute();
      // SQLite rewrites device_tags_next's reference to the renamed table; PostgreSQL holds it by oid.
      await db.schema.alterTable('devices_next').renameTo('devices').execute();
      await db.schema.alterTable('device_tags_next').renameTo('device_tags').execute();
      await caps.continueAutoIds(db, 'devices', 'id');

      // The same walks as 0001 (by token, all, alias; each ends in id for keyset pages), on the key.
      await db.schema
        .createIndex('devices_app_token')
        .unique()
        .on('devices')
        .columns(['app_key', 'token'])
        .execute();
      await db.schema.createIndex('devices_app_id').on('devices').columns(['app_key', 'id']).execute();
      await db.schema
        .createIndex('devices_app_alias')
        .on('devices')
        .columns(['app_key', 'alias', 'id'])
        .execute();
      await db.schema.createIndex('device_tags_device').on('device_tags').columns(['device_id']).execute();
    },
  };
}

/**
 * The pipeline on PostgreSQL: a notification's counts move in shard rows instead of its own
 * row. Every outcome chunk added to the notification row's counts in its transaction, so concurrent
 * send jobs waited on that row's lock (pg_stat_activity: Lock/transactionid on the UPDATE was the
 * first wait) for as long as each commit's WAL flush. Counts already on the row stay there: a
 * notification's counts are its row's plus its shards'.
 */
function notificationCountShards(caps: StoreCapabilities): Migration {
  const big = caps.bigIntType;
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('notification_counts')
        .addColumn('notification_id', 'text', (c) =>
          c.notNull().references('notifications.id').onDelete('cascade'),
        )
        .addColumn('shard', 'integer', (c) => c.notNull())
        .addColumn('accepted', big, (c) => c.notNull().defaultTo(0))
        .addColumn('rejected', big, (c) => c.notNull().defaultTo(0))
        .addColumn('failed', big, (c) => c.notNull().defaultTo(0))
        .addColumn('invalidated', big, (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('notification_counts_pk', ['notification_id', 'shard'])
        .execute();
    },
  };
}

/**
 * The pipeline on PostgreSQL: notification_outcomes without its foreign key to
 * notifications. PostgreSQL checks a foreign key row by row: every outcome inserted ran a
 * `SELECT … FOR KEY SHARE` on its notification, ~125 times per outcome chunk and all on the same
 * row (~10 µs of server CPU per outcome, measured in docs/benchmarks.md). `recordOutcomes` now takes
 * that lock once per chunk, and deleting an app deletes its notifications' outcomes itself.
 * PostgreSQL drops the constraint in place (a cluster's outcome history can be large); SQLite cannot,
 * so there the table is rebuilt, rows and primary key unchanged.
 */
function outcomesWithoutForeignKey(caps: StoreCapabilities): Migration {
  const big = caps.bigIntType;
  return {
    async up(db: AnyDb) {
      if (await caps.dropForeignKeys(db, 'notification_outcomes')) return;
      await db.schema
        .createTable('notification_outcomes_next')
        .addColumn('notification_id', 'text', (c) => c.notNull())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('apns_id', 'text')
        .addColumn('at', big, (c) => c.notNull())
        // (notification, token) stays the idempotency key (SQLite only: names are per table).
        .addPrimaryKeyConstraint('notification_outcomes_pk', ['notification_id', 'token'])
        .execute();
      await db
        .insertInto('notification_outcomes_next')
        .columns(['notification_id', 'token', 'outcome', 'reason', 'apns_id', 'at'])
        .expression(
          db
            .selectFrom('notification_outcomes')
            .select(['notification_id', 'token', 'outcome', 'reason', 'apns_id', 'at'])
            .orderBy('notification_id')
            .orderBy('token'),
        )
        .execute();
      await db.schema.dropTable('notification_outcomes').execute();
      await db.schema.alterTable('notification_outcomes_next').renameTo('notification_outcomes').execute();
    },
  };
}

/**
 * Send batches checkpoint as a whole (docs/pipeline.md): one row per send job that committed, keyed
 * by the job's derived id, instead of an outcome row per device. The row is what makes a batch's
 * counts land once however often its job runs: a run commits only if the row still says what it
 * read at its start (`commits`). `remaining` holds the devices a later run must still send (APNs
 * 429/5xx, transport failures), JSON; null once the batch is complete. The foreign key's check is
 * one per batch, not per device, and its cascade removes the rows with their notification.
 */
function notificationBatches(caps: StoreCapabilities): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('notification_batches')
        .addColumn('notification_id', 'text', (c) =>
          c.notNull().references('notifications.id').onDelete('cascade'),
        )
        .addColumn('batch', 'text', (c) => c.notNull())
        .addColumn('commits', 'integer', (c) => c.notNull())
        .addColumn('remaining', 'text')
        .addColumn('committed_at', caps.bigIntType, (c) => c.notNull())
        .addPrimaryKeyConstraint('notification_batches_pk', ['notification_id', 'batch'])
        .execute();
    },
  };
}

export function storeMigrations(caps: StoreCapabilities): Record<string, Migration> {
  return {
    '0001_initial_schema': initialSchema(caps),
    '0002_feedback_poll_claims': feedbackPollClaims(caps),
    '0003_narrow_device_keys': narrowDeviceKeys(caps),
    '0004_notification_count_shards': notificationCountShards(caps),
    '0005_outcomes_without_foreign_key': outcomesWithoutForeignKey(caps),
    '0009_notification_batches': notificationBatches(caps),
  };
}

class InCodeMigrationProvider implements MigrationProvider {
  readonly #migrations: Record<string, Migration>;
  constructor(migrations: Record<string, Migration>) {
    this.#migrations = migrations;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.#migrations;
  }
}

/** The store's bookkeeping tables, named so they never meet another component's migrator. */
export const MIGRATION_TABLE = 'pk_store_migrations';
export const MIGRATION_LOCK_TABLE = 'pk_store_migrations_lock';

export async function migrateToLatest(connection: StoreConnection): Promise<MigrationReport> {
  const migrations = storeMigrations(connection.capabilities);
  const names = Object.keys(migrations).sort();
  return connection.withMigrationLock(async (db) => {
    const migrator = new Migrator({
      db,
      provider: new InCodeMigrationProvider(migrations),
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error !== undefined) {
      // An outage is not a broken migration: let the caller retry.
      if (error instanceof PushkeeperError && error.code === 'PK_ERR_STORE_UNAVAILABLE') throw error;
      const failed = results?.find((result) => result.status === 'Error')?.migrationName;
      throw new PushkeeperError(
        'PK_ERR_STORE_MIGRATION',
        undefined,
        failed ? { migration: failed } : undefined,
        {
          cause: error,
        },
      );
    }
    return {
      applied: (results ?? [])
        .filter((result) => result.status === 'Success')
        .map((result) => result.migrationName),
      latest: names.at(-1) ?? '',
    };
  });
}
