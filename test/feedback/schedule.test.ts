import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.ts';
import {
  FeedbackScheduler,
  type FeedbackPollRecords,
  type FeedbackSchedulerOptions,
} from '../../src/feedback/schedule.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T08:00:00Z');

function memoryRecords(): FeedbackPollRecords & { rows: Map<string, { at: Date; summary: unknown }> } {
  const rows = new Map<string, { at: Date; summary: unknown }>();
  return {
    rows,
    async lastPolledAt(appId) {
      return rows.get(appId)?.at;
    },
    async recordPoll(appId, at, summary) {
      rows.set(appId, { at, summary });
    },
  };
}

function scheduler(
  clock: FakeClock,
  records: FeedbackPollRecords,
  polls: { appId: string; at: number }[],
  extra: Partial<FeedbackSchedulerOptions> = {},
): FeedbackScheduler {
  return new FeedbackScheduler({
    apps: async () => [{ appId: 'app_a' }, { appId: 'app_b', intervalHours: 6 }],
    poll: async (appId) => {
      polls.push({ appId, at: clock.now() });
      await new Promise((resolve) => setImmediate(resolve));
      return { tuplesRead: 0 };
    },
    records,
    clock,
    random: () => 0.5,
    jitterRatio: 0.02,
    maxSleepMs: HOUR,
    ...extra,
  });
}

const open: FeedbackScheduler[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.destroy()));
});

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

describe('FeedbackScheduler with a fake clock', () => {
  it('polls each app at its interval plus jitter, from the first pass on', async () => {
    const clock = new FakeClock(T0);
    const records = memoryRecords();
    const polls: { appId: string; at: number }[] = [];
    const s = scheduler(clock, records, polls);
    open.push(s);
    s.start();
    await s.idle();
    await clock.advanceTo(T0 + 72 * HOUR, () => s.idle());
    const a = polls.filter((p) => p.appId === 'app_a').map((p) => p.at);
    const b = polls.filter((p) => p.appId === 'app_b').map((p) => p.at);
    // 12 h + 2 % × 0.5 jitter = 12 h 7.2 min; timers wake at most an hour apart (maxSleepMs).
    expect(a[0]).toBe(T0);
    expect(a).toHaveLength(6);
    for (const gap of gaps(a)) expect(gap).toBe(12 * HOUR + 0.01 * 12 * HOUR);
    expect(b).toHaveLength(12);
    for (const gap of gaps(b)) expect(gap).toBe(6 * HOUR + 0.01 * 6 * HOUR);
    expect(records.rows.get('app_a')?.at.getTime()).toBe(a.at(-1));
  });

  it('falls back to the default interval for a nonsensical per-app interval', async () => {
    const clock = new FakeClock(T0);
    const polls: { appId: string; at: number }[] = [];
    const s = scheduler(clock, memoryRecords(), polls, {
      apps: async () => [
        { appId: 'app_zero', intervalHours: 0 },
        { appId: 'app_negative', intervalHours: -3 },
      ],
      jitterRatio: 0,
    });
    open.push(s);
    s.start();
    await s.idle();
    await clock.advanceTo(T0 + 24 * HOUR, () => s.idle());
    expect(polls.map((p) => p.at - T0)).toEqual([0, 0, 12 * HOUR, 12 * HOUR, 24 * HOUR, 24 * HOUR]);
  });

  it('does not poll again after a restart within the interval', async () => {
    const clock = new FakeClock(T0);
    const records = memoryRecords();
    const polls: { appId: string; at: number }[] = [];
    const first = scheduler(clock, records, polls);
    first.start();
    await first.idle();
    expect(polls.map((p) => p.appId).sort()).toEqual(['app_a', 'app_b']);
    await first.close();

    await clock.advanceTo(T0 + 2 * HOUR, async () => undefined);
    const second = scheduler(clock, records, polls, { random: () => 0 });
    open.push(second);
    second.start();
    await second.idle();
    expect(polls).toHaveLength(2); // nothing new right after the restart
    await clock.advanceTo(T0 + 6 * HOUR - 1, () => second.idle());
    expect(polls).toHaveLength(2);
    await clock.advanceTo(T0 + 12 * HOUR, () => second.idle());
    expect(polls.slice(2)).toEqual([
      { appId: 'app_b', at: T0 + 6 * HOUR },
      { appId: 'app_a', at: T0 + 12 * HOUR },
      { appId: 'app_b', at: T0 + 12 * HOUR },
    ]);
  });

  it('records a failed poll with its error and waits a full interval', async () => {
    const clock = new FakeClock(T0);
    const records = memoryRecords();
    let calls = 0;
    const s = new FeedbackScheduler({
      apps: async () => [{ appId: 'app_a' }],
      poll: async () => {
        calls += 1;
        throw Object.assign(new Error('stalled'), {
          code: 'PK_ERR_FEEDBACK_TIMEOUT',
          details: { summary: { tuplesRead: 2 } },
        });
      },
      records,
      clock,
      jitterRatio: 0,
    });
    open.push(s);
    s.start();
    await s.idle();
    expect(records.rows.get('app_a')?.summary).toEqual({
      tuplesRead: 2,
      error: { code: 'PK_ERR_FEEDBACK_TIMEOUT', message: 'stalled' },
    });
    await clock.advanceTo(T0 + 12 * HOUR - 1, () => s.idle());
    expect(calls).toBe(1);
    await clock.advanceTo(T0 + 12 * HOUR, () => s.idle());
    expect(calls).toBe(2);
  });

  it('keeps going when the records store fails for one app, and reports it', async () => {
    const clock = new FakeClock(T0);
    const errors: (string | undefined)[] = [];
    const polls: { appId: string; at: number }[] = [];
    const records = memoryRecords();
    const s = scheduler(
      clock,
      {
        lastPolledAt: async (appId) => {
          if (appId === 'app_a') throw new Error('store down');
          return records.lastPolledAt(appId);
        },
        recordPoll: records.recordPoll,
      },
      polls,
      { onError: (_error, appId) => errors.push(appId) },
    );
    open.push(s);
    s.start();
    await s.idle();
    expect(polls.map((p) => p.appId)).toEqual(['app_b']);
    expect(errors).toEqual(['app_a']);
  });

  it('close() stops the timers and is idempotent; nothing runs after it', async () => {
    const clock = new FakeClock(T0);
    const polls: { appId: string; at: number }[] = [];
    const s = scheduler(clock, memoryRecords(), polls);
    s.start();
    await s.idle();
    await Promise.all([s.close(), s.close()]);
    expect(clock.pendingTimers).toBe(0);
    await clock.advanceTo(T0 + 48 * HOUR, () => s.idle());
    expect(polls).toHaveLength(2);
  });
});

describe('FeedbackScheduler: once across two processes on PostgreSQL', () => {
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  const database = `pk_test_feedback_${randomBytes(6).toString('hex')}`;
  const pools: pg.Pool[] = [];

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const setup = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
    await setup.connect();
    await setup.query(`
      CREATE TABLE feedback_claims (app_id text NOT NULL, slot_start bigint NOT NULL, claimed_by text NOT NULL,
                                    PRIMARY KEY (app_id, slot_start));
      CREATE TABLE feedback_last_polls (app_id text PRIMARY KEY, last_poll_at bigint NOT NULL, summary jsonb NOT NULL);`);
    await setup.end();
  });

  afterAll(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    // Ended clients' backends linger a moment; forcing them out would error in those clients.
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1',
        [database],
      );
      if (Number(rows[0]!.n) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  /** What one process has: its own connection pool, records and claim over the shared database. */
  function startProcess(
    name: string,
    clock: FakeClock,
    polls: { appId: string; at: number; by: string }[],
  ): FeedbackScheduler {
    const pool = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database, max: 2 });
    pools.push(pool);
    return new FeedbackScheduler({
      apps: async () => [{ appId: 'app_a' }, { appId: 'app_b' }],
      poll: async (appId) => {
        polls.push({ appId, at: clock.now(), by: name });
        await new Promise((resolve) => setTimeout(resolve, 2)); // overlap with the other process
        return { tuplesRead: 0, by: name };
      },
      records: {
        async lastPolledAt(appId) {
          const { rows } = await pool.query<{ last_poll_at: string }>(
            'SELECT last_poll_at FROM feedback_last_polls WHERE app_id = $1',
            [appId],
          );
          return rows[0] ? new Date(Number(rows[0].last_poll_at)) : null;
        },
        async recordPoll(appId, at, summary) {
          await pool.query(
            `INSERT INTO feedback_last_polls (app_id, last_poll_at, summary) VALUES ($1, $2, $3)
             ON CONFLICT (app_id) DO UPDATE SET last_poll_at = excluded.last_poll_at, summary = excluded.summary`,
            [appId, at.getTime(), JSON.stringify(summary)],
          );
        },
      },
      // The tiny claim: the first INSERT of (app, slot) wins, every other one conflicts.
      tryClaim: async (appId, slotStart) => {
        const result = await pool.query(
          'INSERT INTO feedback_claims (app_id, slot_start, claimed_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [appId, slotStart.getTime(), name],
        );
        return result.rowCount === 1;
      },
      clock,
      jitterRatio: 0, // both wake at exactly the same instants: the claim alone must keep them apart
      maxSleepMs: HOUR,
    });
  }

  it('polls each app once per interval although both processes are due at the same instants', async () => {
    const clock = new FakeClock(T0);
    const polls: { appId: string; at: number; by: string }[] = [];
    const one = startProcess('one', clock, polls);
    const two = startProcess('two', clock, polls);
    open.push(one, two);
    const settle = async (): Promise<void> => {
      await Promise.all([one.idle(), two.idle()]);
    };
    one.start();
    two.start();
    await settle();
    await clock.advanceTo(T0 + 48 * HOUR, settle);

    for (const appId of ['app_a', 'app_b']) {
      const times = polls.filter((p) => p.appId === appId).map((p) => p.at);
      expect(times).toEqual([T0, T0 + 12 * HOUR, T0 + 24 * HOUR, T0 + 36 * HOUR, T0 + 48 * HOUR]);
    }
    const { rows } = await pools[0]!.query<{ n: string }>('SELECT count(*) AS n FROM feedback_claims');
    expect(Number(rows[0]!.n)).toBe(10);
  });

  it('a process started within the interval (after the two above) does not poll until it is due', async () => {
    // The processes above last polled both apps at T0 + 48 h.
    const clock = new FakeClock(T0 + 54 * HOUR);
    const polls: { appId: string; at: number; by: string }[] = [];
    const three = startProcess('three', clock, polls);
    open.push(three);
    three.start();
    await three.idle();
    expect(polls).toEqual([]);
    await clock.advanceTo(T0 + 60 * HOUR - 1, () => three.idle());
    expect(polls).toEqual([]);
    await clock.advanceTo(T0 + 60 * HOUR, () => three.idle());
    expect(polls.map((p) => [p.appId, p.at])).toEqual([
      ['app_a', T0 + 60 * HOUR],
      ['app_b', T0 + 60 * HOUR],
    ]);
  });
});
