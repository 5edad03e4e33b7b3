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
  type Driver,
  SqliteDialect,
  type SqliteDatabase,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely';

function adaptStatement(statement: StatementSync): SqliteStatement {
  return {
    // A statement that yields columns (SELECT, or anything with RETURNING) is read with all().
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...(parameters as never[])) as unknown[],
    run: (parameters) => statement.run(...(parameters as never[])),
    iterate: (parameters) => statement.iterate(...(parameters as never[])) as IterableIterator<unknown>,
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

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

export class NodeSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;

  constructor(database: DatabaseSync) {
    const adapted = adaptDatabase(database);
    super({ database: adapted });
    this.#database = adapted;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}
