/**
 * PostgreSQL through a `pg` pool. BIGINT (int8) columns hold epoch milliseconds and ids; `pg`
 * returns int8 as strings by default, so this pool parses them as numbers (all our values stay
 * below 2^53). The parser is set on this pool's config only, never on the global `pg.types`.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type PgModule from 'pg';
import { PREPARE_MARKER } from '../compiled-statement.ts';
import type { StoreCapabilities, StoreConnection } from '../connection.ts';
import { guardDialect } from '../unavailable-dialect.ts';
import type { Database } from '../schema.ts';

export interface PostgresOptions {
  readonly connectionString: string;
  readonly poolSize?: number;
}

const INT8_OID = 20;

export const postgresCapabilities: StoreCapabilities = {
  addAutoIdColumn(table, name) {
    // Identity values are never reused, so every id is monotonic.
    return table.addColumn(name, 'bigint', (column) => column.primaryKey().generatedByDefaultAsIdentity());
  },
  bigIntType: 'bigint',
  bytesType: 'bytea',
  bytesAsHex: (column) => sql<string>`encode(${sql.ref(column)}, 'hex')`,
  hexToBytes: (column) => sql<Uint8Array>`decode(${sql.ref(column)}, 'hex')`,
  async continueAutoIds(db, table, column) {
    // is_called = false: the next value handed out is exactly this one.
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}), coalesce(max(${sql.ref(column)}), 0) + 1, false) from ${sql.table(table)}`.execute(
      db,
    );
  },
  async dropForeignKeys(db, table) {
    const { rows } = await sql<{ name: string }>`
      select conname as name from pg_constraint where conrelid = ${table}::regclass and contype = 'f'`.execute(
      db,
    );
    for (const { name } of rows) await db.schema.alterTable(table).dropConstraint(name).execute();
    return true;
  },
  rowLocks: true,
  writableCte: true,
  groupCommit: false,
  maxBindParameters: 65_535,
  // The server holds its own cache (shared_buffers): nothing to size per call.
  withBulkWriteCache: (_db, fn) => fn(),
  async refreshStatistics(db) {
    await sql`ANALYZE devices, device_tags`.execute(db);
  },
};

/** Any 64-bit constant, the same in every process: the key of the migration advisory lock. */
const MIGRATION_LOCK_KEY = 0x706b_7374; // "pkst"

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * Outages, not bugs: socket errors, SQLSTATE class 08 (connection exception), 53 (insufficient
 * resources: too many connections, disk full), 57P01-57P03 (admin shutdown, crash shutdown,
 * cannot connect now), and pg's "Connection terminated" without a code.
 */
export function isPostgresUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    return (
      UNREACHABLE.has(code) || code.startsWith('08') || code.startsWith('53') || /^57P0[123]$/.test(code)
    );
  }
  return (
    error instanceof Error &&
    /Connection terminated|timeout exceeded when trying to connect/i.test(error.message)
  );
}

/**
 * `pg`, loaded on first use: every process imports the store, and a process on SQLite would carry
 * the driver for nothing (~9 MB resident, measured on a bare Node). It is CommonJS, so a synchronous
 * require keeps openStore synchronous.
 */
let pgModule: typeof PgModule | undefined;
function loadPg(): typeof PgModule {
  pgModule ??= createRequire(import.meta.url)('pg') as typeof PgModule;
  return pgModule;
}

type QueryArguments = [config: unknown, values?: unknown, callback?: unknown];

/**
 * A pg client that runs our marked hot statements (PREPARE_MARKER) as named prepared statements:
 * pg prepares a name once per connection and afterwards sends only Bind/Execute, so PostgreSQL
 * neither parses nor plans the text again (its plan cache keeps a generic plan after five runs).
 * The name is a hash of the text, so two texts never share a name. Every other query — Kysely's
 * built queries, pg-boss's own — passes through as it was.
 */
function preparingClient(pg: typeof PgModule): typeof PgModule.Client {
  const names = new Map<string, string>();
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (name === undefined) {
      name = `pk_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
  class PreparingClient extends pg.Client {
    // @ts-expect-error pg's query has many overloads; this forwards every one of them unchanged.
    override query(...args: QueryArguments): unknown {
      const [config, values, callback] = args;
      if (typeof config === 'string' && config.startsWith(PREPARE_MARKER) && typeof values !== 'function') {
        const named = { name: nameOf(config), text: config, values: values as unknown[] };
        return callback === undefined
          ? super.query(named)
          : super.query(named, callback as (error: Error) => void);
      }
      return (super.query as (...forwarded: unknown[]) => unknown)(...args);
    }
  }
  return PreparingClient as unknown as typeof PgModule.Client;
}

export function openPostgres(options: PostgresOptions): StoreConnection {
  const pg = loadPg();
  const pool = new pg.Pool({
    Client: preparingClient(pg),
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({
    dialect: guardDialect(new PostgresDialect({ pool }), isPostgresUnavailable),
  });
  let closing: Promise<void> | undefined;
  return {
    kind: 'postgres',
    db,
    capabilities: postgresCapabilities,
    async withMigrationLock(fn) {
      // A session-level advisory lock on one pinned connection: concurrent `migrate` calls from any
      // number of processes run one after the other. (Kysely's migrator also takes a transaction
      // lock; ours covers the creation of its bookkeeping tables too.)
      return db.connection().execute(async (connection) => {
        await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
        try {
          return await fn(connection);
        } finally {
          await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(connection);
        }
      });
    },
    close() {
      closing ??= db.destroy();
      return closing;
    },
  };
}
