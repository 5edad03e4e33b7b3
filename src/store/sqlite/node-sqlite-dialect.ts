/**
 * Kysely's SQLite dialect speaks to a better-sqlite3-shaped database; this adapts Node's built-in
 * `node:sqlite` `DatabaseSync` to that shape, and begins write transactions with BEGIN IMMEDIATE.
 *
 * Why IMMEDIATE: a deferred transaction that reads and then writes must upgrade its lock; in WAL
 * mode that upgrade fails at once with SQLITE_BUSY_SNAPSHOT if another process committed in
 * between, and busy_timeout does not help. Taking the write lock up front makes busy_timeout apply.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDatabase,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely';

/** Turns a row read as an array into the object Kysely expects, keyed by the statement's column names. */
function rowMaker(names: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  return (values) => {
    // The same keys in the same order for every row of a statement: V8 gives them one shape.
    const row: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i += 1) row[names[i]!] = values[i];
    return row;
  };
}

/**
 * Rows are read as arrays (`setReturnArrays`) and made into objects here. The objects node:sqlite
 * builds itself end up in V8's old generation: streaming 1,000,000 devices in pages of 250 promoted
 * ~140 bytes a row until a full collection, and peaked at 157 MB resident in a bare node:sqlite
 * loop; the same loop reading arrays and building the objects in JavaScript peaked at 70 MB, with
 * no more CPU time (docs/store.md, "Streaming").
 */
function adaptStatement(statement: StatementSync): SqliteStatement {
  const run = (parameters: readonly unknown[]) => statement.run(...(parameters as never[]));
  const names = statement.columns().map((column) => column.name);
  // A statement that yields columns (SELECT, or anything with RETURNING) is read with all().
  if (names.length === 0) {
    return {
      reader: false,
      all: (parameters) => statement.all(...(parameters as never[])) as unknown[],
      run,
      iterate: (parameters) => statement.iterate(...(parameters as never[])) as IterableIterator<unknown>,
    };
  }
  statement.setReturnArrays(true);
  const makeRow = rowMaker(names);
  return {
    reader: true,
    all: (parameters) => {
      const arrays = statement.all(...(parameters as never[])) as unknown as unknown[][];
      const rows = new Array<Record<string, unknown>>(arrays.length);
      for (let i = 0; i < arrays.length; i += 1) rows[i] = makeRow(arrays[i]!);
      return rows;
    },
    run,
    *iterate(parameters) {
      for (const values of statement.iterate(...(parameters as never[]))) {
        yield makeRow(values as unknown as unknown[]);
      }
    },
  };
}

/**
 * Prepared statements are cached by SQL text: Kysely compiles the same text for same-shaped queries
 * (a 2,000-row import batch, a keyset page), and preparing a statement with thousands of
 * parameters costs more than running it on a warm cache.
 */
const STATEMENT_CACHE_SIZE = 128;

export function adaptDatabase(database: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      if (database.isOpen) database.close();
    },
    prepare: (sql) => {
      const cached = cache.get(sql);
      if (cached) {
        // Map keeps insertion order: re-inserting marks it most recently used.
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = adaptStatement(database.prepare(sql));
      cache.set(sql, statement);
      if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      return statement;
    },
  };
}

/** SQLITE_BUSY, with or without an extended code in the high bytes. */
function isBusy(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' && (errcode & 0xff) === 5;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #busyTimeoutMs: number;

  constructor(database: SqliteDatabase, busyTimeoutMs: number) {
    super({ database });
    this.#busyTimeoutMs = Math.trunc(busyTimeoutMs);
  }

  /**
   * BEGIN IMMEDIATE, waiting for the write lock without blocking the event loop. SQLite's own
   * busy handler sleeps inside the (synchronous) call: if the lock holder is another connection in
   * this same process, awaiting between its statements, it can never commit while we sleep, and
   * both wait for busy_timeout. So the BEGIN runs with busy_timeout 0 and is retried after timer
   * pauses (1 ms doubling to 50 ms) until the same deadline; then SQLITE_BUSY surfaces as before.
   */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    await connection.executeQuery(CompiledQuery.raw('PRAGMA busy_timeout = 0'));
    try {
      for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
        try {
          await connection.executeQuery(CompiledQuery.raw('begin immediate'));
          return;
        } catch (error) {
          if (!isBusy(error) || Date.now() >= deadline) throw error;
        }
        await pause(Math.min(wait, Math.max(1, deadline - Date.now())));
      }
    } finally {
      await connection.executeQuery(CompiledQuery.raw(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`));
    }
  }
}

/**
 * SQLite runs DDL inside transactions, but Kysely's adapter says it does not, so its migrator would
 * run each migration statement by statement with no lock: two processes migrating one file at once
 * both read "nothing applied" and the second fails on `table … already exists`. Saying yes makes the
 * migrator run the whole pass in one (BEGIN IMMEDIATE) transaction: the write lock serialises
 * processes, the second one reads the migrations table after the first committed, and a failed
 * migration rolls back entirely.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

export class NodeSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;

  readonly #busyTimeoutMs: number;

  constructor(database: DatabaseSync, options: { readonly busyTimeoutMs: number }) {
    const adapted = adaptDatabase(database);
    super({ database: adapted });
    this.#database = adapted;
    this.#busyTimeoutMs = options.busyTimeoutMs;
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#database, this.#busyTimeoutMs);
  }
}
