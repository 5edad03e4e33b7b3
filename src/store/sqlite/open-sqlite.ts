/**
 * The embedded database: one `node:sqlite` connection per process, WAL journal.
 *
 * Durability (docs/store.md): with WAL, a committed transaction is in the WAL file before COMMIT
 * returns. `synchronous=NORMAL` skips the fsync at each commit, so a *power loss* may roll back the
 * last transactions, but a killed *process* loses nothing: the data is already in the kernel's page
 * cache. That is the guarantee we give (a 2xx survives a process kill); `full` adds an
 * fsync per commit for machines where power loss matters more than write latency.
 */
import { DatabaseSync } from 'node:sqlite';
import { Kysely, sql } from 'kysely';
import type { StoreCapabilities, StoreConnection } from '../connection.ts';
import type { Database } from '../schema.ts';
import { guardDialect } from '../unavailable-dialect.ts';
import { prepareDatabaseFiles } from './file-modes.ts';
import { NodeSqliteDialect } from './node-sqlite-dialect.ts';

export interface SqliteOptions {
  /** A file path or `:memory:`. */
  readonly path: string;
  readonly synchronous?: 'normal' | 'full';
  readonly busyTimeoutMs?: number;
}

/**
 * Page cache of the one connection, in KiB. Registrations and point reads touch a few pages each
 * (the indexes' interior pages stay cached); an audience stream reads every page once, so a larger
 * cache only adds resident memory (streaming 1,000,000 devices must stay under 150 MB RSS).
 * Bulk writes raise it for their duration (withBulkWriteCache).
 */
const CACHE_KIB = 8 * 1024;
/**
 * Page cache during bulk writes (see withBulkWriteCache); measured in docs/store.md. A cap, not an
 * allocation: it fills only with the pages the write touches. Removing 100,000 of 1,000,000 devices
 * at random touches ~170 MB of pages (~360 MB before migration 0003's narrower keys); with a
 * smaller cache SQLite spills dirty pages to the WAL in mid-transaction and writes them again at
 * the commit.
 */
const BULK_CACHE_KIB = 512 * 1024;
/**
 * 16 KiB pages instead of 4 KiB (applies when the file is created; an existing file keeps its
 * size): a commit appends each dirty page to the WAL as one frame, and bulk writes dirty thousands
 * of pages; a quarter as many frames cut commit time of 100,000 invalidations from 5.5 s to 0.7 s.
 */
const PAGE_SIZE = 16_384;
/** WAL size that triggers an automatic checkpoint (see openSqlite). */
const CHECKPOINT_WAL_BYTES = 160 * 1024 * 1024;

export const sqliteCapabilities: StoreCapabilities = {
  addAutoIdColumn(table, name, options) {
    // `integer primary key` makes the column the rowid. AUTOINCREMENT additionally never reuses
    // the id of a deleted last row, which sync cursors over deletable rows need.
    return table.addColumn(name, 'integer', (column) => {
      const key = column.primaryKey();
      return options?.monotonic ? key.autoIncrement() : key;
    });
  },
  bigIntType: 'integer',
  bytesType: 'blob',
  bytesAsHex: (column) => sql<string>`lower(hex(${sql.ref(column)}))`,
  // unhex() is SQLite 3.41+; node:sqlite bundles a newer one.
  hexToBytes: (column) => sql<Uint8Array>`unhex(${sql.ref(column)})`,
  // A rowid is one above the largest in the table whenever none is given.
  continueAutoIds: async () => {},
  // SQLite has no ALTER TABLE … DROP CONSTRAINT.
  dropForeignKeys: async () => false,
  rowLocks: false,
  writableCte: false,
  groupCommit: true,
  // SQLITE_MAX_VARIABLE_NUMBER is 32,766 since 3.32.
  maxBindParameters: 32_766,
  async refreshStatistics(db) {
    // SQLite's recommended upkeep: bounded work, runs ANALYZE only where it would change plans.
    await sql`PRAGMA optimize`.execute(db);
  },
  async withBulkWriteCache(db, fn) {
    await sql.raw(`PRAGMA cache_size = -${BULK_CACHE_KIB}`).execute(db);
    try {
      return await fn();
    } finally {
      await sql.raw(`PRAGMA cache_size = -${CACHE_KIB}`).execute(db);
      // Hand the pages back to the allocator now rather than when the cache next turns over.
      await sql`PRAGMA shrink_memory`.execute(db);
    }
  },
};

/** SQLite primary result codes that mean "cannot work right now", not "bad query". */
const UNAVAILABLE_CODES = new Set([
  5, // SQLITE_BUSY: another process held the write lock longer than busy_timeout
  6, // SQLITE_LOCKED
  10, // SQLITE_IOERR
  13, // SQLITE_FULL: disk full
  14, // SQLITE_CANTOPEN
]);

export function isSqliteUnavailable(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  // Extended codes carry the primary code in their low byte (e.g. SQLITE_BUSY_SNAPSHOT = 517).
  return typeof errcode === 'number' && UNAVAILABLE_CODES.has(errcode & 0xff);
}

export function openSqlite(options: SqliteOptions): StoreConnection {
  if (options.path !== ':memory:') prepareDatabaseFiles(options.path);
  const database = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? 5_000 });
  // page_size must be set before the first table exists and before WAL mode is entered.
  database.exec(`PRAGMA page_size = ${PAGE_SIZE}`);
  database.exec('PRAGMA journal_mode = WAL');
  database.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  database.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5_000)}`);
  database.exec('PRAGMA foreign_keys = ON');
  database.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
  database.exec('PRAGMA temp_store = MEMORY');
  // Checkpoint every ~160 MB of WAL instead of 4 MB: bulk imports and feedback invalidations
  // rewrite the same index pages many times, and a checkpoint writes (and fsyncs) a page once
  // however often it changed. Measured: commits of 1,000 random deletions went from 72 ms to 17 ms.
  // journal_size_limit truncates the WAL back to 64 MB after a checkpoint. The setting counts
  // pages, and a file created before 16 KiB pages keeps its 4 KiB ones.
  const { page_size: pageSize } = database.prepare('PRAGMA page_size').get() as { page_size: number };
  database.exec(`PRAGMA wal_autocheckpoint = ${Math.ceil(CHECKPOINT_WAL_BYTES / pageSize)}`);
  database.exec('PRAGMA journal_size_limit = 67108864');
  const db = new Kysely<Database>({
    dialect: guardDialect(
      new NodeSqliteDialect(database, { busyTimeoutMs: options.busyTimeoutMs ?? 5_000 }),
      isSqliteUnavailable,
    ),
  });
  let closing: Promise<void> | undefined;
  return {
    kind: 'sqlite',
    db,
    capabilities: sqliteCapabilities,
    // One connection per process and migrations run in BEGIN IMMEDIATE transactions: SQLite's own
    // write lock already serialises migrating processes.
    withMigrationLock: (fn) => fn(db),
    close() {
      closing ??= (async () => {
        // Leave the WAL checkpointed so the file is self-contained for backups.
        try {
          await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
        } catch {
          // A failed checkpoint is not a failed close; the WAL is replayed on next open.
        }
        await db.destroy();
        if (database.isOpen) database.close();
      })();
      return closing;
    },
  };
}
