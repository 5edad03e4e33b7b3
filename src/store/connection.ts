/**
 * What a per-database folder hands the shared implementation: a Kysely instance over the schema,
 * capability flags for the few places where SQL truly differs, and the connection lifecycle.
 * Business code reads flags, never the database's name.
 */
import type { CreateTableBuilder, Kysely, RawBuilder } from 'kysely';
import type { StoreKind } from './contract.ts';
import type { Database } from './schema.ts';

export interface StoreCapabilities {
  /** Adds an auto-generated integer primary key column (SQLite rowid alias / PostgreSQL identity). */
  addAutoIdColumn<TB extends string, C extends string>(
    table: CreateTableBuilder<TB, C>,
    name: string,
    options?: { readonly monotonic?: boolean },
  ): CreateTableBuilder<TB, C>;
  /** The data type of a column holding epoch milliseconds or a reference to an auto id. */
  readonly bigIntType: 'integer' | 'bigint';
  /** The data type of a column holding bytes. */
  readonly bytesType: 'blob' | 'bytea';
  /** SQL giving a bytes column as lower-case hex text (device tokens, read by the million when streaming). */
  bytesAsHex(column: string): RawBuilder<string>;
  /** SQL turning a column of hex text into its bytes (migration 0003: device tokens). */
  hexToBytes(column: string): RawBuilder<Uint8Array>;
  /**
   * After rows were copied into a table with their ids given explicitly, makes the table's next
   * generated id follow the largest one (PostgreSQL's identity sequence does not look at the rows;
   * SQLite's rowid does, nothing to do there).
   */
  continueAutoIds(db: Kysely<Database>, table: string, column: string): Promise<void>;
  /**
   * Drops a table's foreign keys in place where the database can (PostgreSQL: ALTER TABLE, no copy
   * of the rows) and answers true; answers false where the table has to be rebuilt (SQLite).
   */
  dropForeignKeys(db: Kysely<unknown>, table: string): Promise<boolean>;
  /**
   * `SELECT … FOR UPDATE` exists: concurrent writers are separate transactions that must lock the
   * rows they decide on. SQLite has no row locks and needs none: BEGIN IMMEDIATE serialises writers.
   */
  readonly rowLocks: boolean;
  /**
   * Every write goes through one connection, one transaction at a time (SQLite): concurrent
   * registrations gain from sharing a transaction, since each commit costs a WAL append whatever
   * it holds. A pooled server (PostgreSQL) runs them in parallel instead.
   */
  readonly groupCommit: boolean;
  /**
   * Data-modifying statements in WITH (PostgreSQL): a send batch's commit, which writes four tables
   * on one condition, is one statement. Without it (SQLite) it is one transaction of several.
   */
  readonly writableCte: boolean;
  /** How many bind parameters one statement may carry (we stay well below it). */
  readonly maxBindParameters: number;
  /**
   * Brings the planner's statistics up to date after a bulk write. PostgreSQL plans keyset pages
   * as a bitmap scan plus sort over the whole app until ANALYZE has seen the new rows (measured:
   * 57 ms instead of 1.7 ms per 5,000-row page at 300,000 devices).
   */
  refreshStatistics(db: Kysely<Database>): Promise<void>;
  /**
   * Runs a bulk write (a feedback poll's 100,000 invalidations, an import) with more page cache
   * where the database keeps it in-process (SQLite), releasing it afterwards. Random deletions of
   * 10% of an app touch nearly every page of the devices table and its indexes: with a small cache
   * SQLite spills dirty pages to the WAL mid-transaction and reads them back.
   */
  withBulkWriteCache<T>(db: Kysely<Database>, fn: () => Promise<T>): Promise<T>;
}

export interface StoreConnection {
  readonly kind: StoreKind;
  readonly db: Kysely<Database>;
  readonly capabilities: StoreCapabilities;
  /** Runs `fn` holding a lock that serialises migrations across processes. */
  withMigrationLock<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}
