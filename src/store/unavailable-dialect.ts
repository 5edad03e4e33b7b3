/**
 * Turns "the database is not reachable" into PK_ERR_STORE_UNAVAILABLE at one seam, the Kysely
 * driver, so the HTTP edge can answer 503 + Retry-After (backpressure) without any query
 * site knowing about drivers. Which errors count is the per-database folder's call; anything else
 * (a constraint violation is a bug, not an outage) passes through unchanged.
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { PushkeeperError } from '../errors.ts';

export type UnavailableClassifier = (error: unknown) => boolean;

function mapError(error: unknown, isUnavailable: UnavailableClassifier): unknown {
  if (error instanceof PushkeeperError || !isUnavailable(error)) return error;
  return new PushkeeperError('PK_ERR_STORE_UNAVAILABLE', undefined, undefined, { cause: error });
}

async function guard<T>(run: () => Promise<T>, isUnavailable: UnavailableClassifier): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapError(error, isUnavailable);
  }
}

class GuardedConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  readonly #isUnavailable: UnavailableClassifier;

  constructor(inner: DatabaseConnection, isUnavailable: UnavailableClassifier) {
    this.inner = inner;
    this.#isUnavailable = isUnavailable;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return guard(() => this.inner.executeQuery<R>(compiledQuery), this.#isUnavailable);
  }

  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize?: number,
  ): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(compiledQuery, chunkSize);
    } catch (error) {
      throw mapError(error, this.#isUnavailable);
    }
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof GuardedConnection ? connection.inner : connection;
}

class GuardedDriver implements Driver {
  readonly #inner: Driver;
  readonly #isUnavailable: UnavailableClassifier;

  constructor(inner: Driver, isUnavailable: UnavailableClassifier) {
    this.#inner = inner;
    this.#isUnavailable = isUnavailable;
  }

  init(): Promise<void> {
    return guard(() => this.#inner.init(), this.#isUnavailable);
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await guard(() => this.#inner.acquireConnection(), this.#isUnavailable);
    return new GuardedConnection(connection, this.#isUnavailable);
  }
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return guard(() => this.#inner.beginTransaction(unwrap(connection), settings), this.#isUnavailable);
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return guard(() => this.#inner.commitTransaction(unwrap(connection)), this.#isUnavailable);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return guard(() => this.#inner.rollbackTransaction(unwrap(connection)), this.#isUnavailable);
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(unwrap(connection));
  }
  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

export function guardDialect(dialect: Dialect, isUnavailable: UnavailableClassifier): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new GuardedDriver(dialect.createDriver(), isUnavailable),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
