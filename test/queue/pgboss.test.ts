import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgBossJobQueue, type PgBossJobQueueOptions } from '../../src/queue/index.ts';
import { type CreateOptions, runQueueConformance } from './conformance.ts';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const database = `pk_test_${randomBytes(6).toString('hex')}`;
const connectionString = `postgres://postgres@127.0.0.1:5432/${database}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin(`CREATE DATABASE ${database}`);
});

afterAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});

// Short timings so takeover and retries happen within seconds: a job whose worker died expires
// after 3 s and the supervisor looks every second; heartbeats (minimum 10 s in pg-boss) are off.
const testTimings = {
  pollingIntervalMs: 500,
  expireInSeconds: 3,
  heartbeatSeconds: null,
  superviseIntervalSeconds: 1,
  scheduleMaxSleepMs: 100,
  maxConnections: 4,
} satisfies Partial<PgBossJobQueueOptions>;

runQueueConformance('pg-boss (PostgreSQL)', {
  retryDelayMs: 1000,
  async newContext() {
    return {
      create: (options?: CreateOptions) =>
        new PgBossJobQueue({
          connectionString,
          ...testTimings,
          ...(options?.slowPolling ? { pollingIntervalMs: 600_000 } : {}),
          ...(options?.now === undefined ? {} : { now: options.now }),
        }),
      childSpec: { kind: 'pgboss', connectionString, options: testTimings },
      async dispose() {},
    };
  },
});

describe('PgBossJobQueue specifics', () => {
  it('answers PK_ERR_QUEUE_UNAVAILABLE when PostgreSQL is unreachable', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const queue = new PgBossJobQueue({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      onError: () => {},
    });
    await expect(queue.start()).rejects.toMatchObject({ code: 'PK_ERR_QUEUE_UNAVAILABLE' });
    await queue.close();
  });

  it('keeps its schedule rows beside pg-boss in the chosen schema', async () => {
    const queue = new PgBossJobQueue({ connectionString, schema: 'pk_jobs', ...testTimings });
    try {
      await queue.start();
      await queue.schedule('feedback-poll', 3_600_000, { app: 'a1' });
      const client = new pg.Client({ connectionString });
      await client.connect();
      try {
        const { rows } = await client.query(
          'SELECT name, interval_ms::int AS interval FROM pk_jobs.pushkeeper_schedules',
        );
        expect(rows).toEqual([{ name: 'feedback-poll', interval: 3_600_000 }]);
      } finally {
        await client.end();
      }
    } finally {
      await queue.close();
    }
  });
});
