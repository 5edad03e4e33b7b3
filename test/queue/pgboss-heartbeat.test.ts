/**
 * The production takeover path of the cluster queue: heartbeats, not expiry. A worker killed with
 * SIGKILL stops refreshing its job's heartbeat; pg-boss's supervisor fails the job once the
 * heartbeat is stale and a survivor takes it. pg-boss's minimum heartbeat is 10 s, so this file
 * takes about 15 s and runs apart from the conformance suite.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Job, PgBossJobQueue } from '../../src/queue/index.ts';
import { CRASH_WORKER, waitFor } from './conformance.ts';

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

describe('PgBossJobQueue heartbeat takeover', () => {
  it('a killed worker’s job is taken over by heartbeat long before it would expire', async () => {
    // Expiry alone would hold the job for two minutes; only the heartbeat can free it in time.
    const options = {
      heartbeatSeconds: 10,
      expireInSeconds: 120,
      superviseIntervalSeconds: 1,
      pollingIntervalMs: 500,
      maxConnections: 3,
    };
    const queue = new PgBossJobQueue({ connectionString, ...options });
    const child = spawn(
      process.execPath,
      [CRASH_WORKER, JSON.stringify({ kind: 'pgboss', connectionString, name: 'hb', options })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await queue.start();
      const id = await queue.enqueue('hb', { device: 'x' }, { retryLimit: 2 });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor(() => output.includes(`started ${id}`), 30_000);
      child.kill('SIGKILL');
      await exited;
      const seen: Job[] = [];
      await queue.work('hb', {}, async (jobs) => {
        seen.push(...jobs);
      });
      await waitFor(() => seen.length === 1, 40_000);
      expect(seen[0]).toMatchObject({ id, data: { device: 'x' }, retryCount: 1 });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await queue.close();
    }
  });
});
