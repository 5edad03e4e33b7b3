/**
 * bench:api's peer: the least a durable registration can cost on a database. Bare Fastify on the
 * registration's path, and per request one prepared upsert of the device into a table keyed like
 * ours (app, token), committed before the answer with the same guarantee as the store's:
 * SQLite in WAL mode with synchronous=NORMAL on the same file (a killed process loses nothing),
 * PostgreSQL with synchronous_commit on, on the same database. No authentication, no validation, no
 * access log.
 */
import { DatabaseSync } from 'node:sqlite';
import Fastify from 'fastify';
import pg from 'pg';

interface Body {
  readonly environment?: string;
  readonly alias?: string | null;
  readonly tags?: readonly string[];
}

type Params = { app: string; token: string };

const UPSERT = `insert into bench_devices (app, token, environment, alias, tags, updated_at)
  values ($1, $2, $3, $4, $5, $6)
  on conflict (app, token) do update set environment = excluded.environment, alias = excluded.alias,
    tags = excluded.tags, updated_at = excluded.updated_at`;

function values(params: Params, body: Body | undefined): unknown[] {
  return [
    params.app,
    Buffer.from(params.token, 'hex'),
    body?.environment ?? 'production',
    body?.alias ?? null,
    JSON.stringify(body?.tags ?? []),
    Date.now(),
  ];
}

export async function minimalDurableRoute(
  database: { readonly sqlite: string } | { readonly postgres: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const server = Fastify({ logger: false });
  let closeDatabase: () => Promise<void>;
  if ('sqlite' in database) {
    const db = new DatabaseSync(database.sqlite);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec(`create table if not exists bench_devices (app text not null, token blob not null, environment text not null,
      alias text, tags text not null, updated_at integer not null, primary key (app, token))`);
    const upsert = db.prepare(UPSERT.replace(/\$(\d)/g, '?$1'));
    server.put<{ Params: Params; Body: Body }>('/v1/apps/:app/devices/:token', async (request) => {
      upsert.run(...(values(request.params, request.body) as (string | number | Buffer | null)[]));
      return { ok: true };
    });
    closeDatabase = async () => db.close();
  } else {
    const pool = new pg.Pool({ connectionString: database.postgres, max: 10 });
    await pool.query(`create table if not exists bench_devices (app text not null, token bytea not null, environment text not null,
      alias text, tags text not null, updated_at bigint not null, primary key (app, token))`);
    server.put<{ Params: Params; Body: Body }>('/v1/apps/:app/devices/:token', async (request) => {
      await pool.query({ name: 'bench_upsert', text: UPSERT, values: values(request.params, request.body) });
      return { ok: true };
    });
    closeDatabase = () => pool.end();
  }
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    async close() {
      await server.close();
      await closeDatabase();
    },
  };
}
