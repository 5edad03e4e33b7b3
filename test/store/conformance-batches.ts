/**
 * Store conformance, send-batch checkpoints (part of runStoreConformance, both databases): a batch's
 * commit applies once per checkpoint state, writes only the rows it is given, stays inside its app,
 * and rewrites last_success_at only where it is older than the allowed age.
 */
import { expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import type { BatchCommit, Store } from '../../src/store/index.ts';

interface Context {
  readonly store: () => Store;
  readonly newApp: () => Promise<string>;
  readonly token: (n: number, salt?: number) => DeviceToken;
}

const DAY = 86_400_000;
const NONE = { accepted: 0, rejected: 0, failed: 0, invalidated: 0 };

function commit(batch: string, fields: Partial<BatchCommit> = {}): BatchCommit {
  return {
    batch,
    after: 0,
    counts: NONE,
    outcomes: [],
    succeeded: [],
    successAt: new Date('2026-06-06T12:00:00Z'),
    successMaxAgeMs: DAY,
    remaining: [],
    ...fields,
  };
}

async function sendingNotification(store: Store, appId: string, targeted: number): Promise<string> {
  const created = await store.notifications.create(appId, { audience: { all: true }, payload: '{}', options: {} });
  if (!created.ok) throw new Error(created.error.message);
  const id = created.value.notification.id;
  await store.notifications.transition(appId, id, ['queued'], 'sending');
  await store.notifications.checkpointFanout(appId, id, { cursor: null, targetedDelta: targeted, complete: true });
  return id;
}

export function batchCheckpointTests(ctx: Context): void {
  const { token } = ctx;

  it('a batch commits once per checkpoint state: counts exact, rows only for what needs one, a retry moves it on', async () => {
    const store = ctx.store();
    const appId = await ctx.newApp();
    const id = await sendingNotification(store, appId, 10);
    expect(await store.notifications.batchCheckpoint(appId, id, 'b1')).toEqual({ commits: 0, remaining: [] });
    const first = commit('b1', {
      counts: { accepted: 7, rejected: 1, failed: 0, invalidated: 0 },
      outcomes: [{ token: token(3), outcome: 'rejected', reason: 'BadTopic' }],
      remaining: [
        { token: token(8), environment: 'production' },
        { token: token(9), environment: 'sandbox' },
      ],
    });
    expect(await store.notifications.commitBatch(appId, id, first)).toBe(true);
    // The same run state again (a second run that read the same checkpoint): nothing lands.
    expect(await store.notifications.commitBatch(appId, id, first)).toBe(false);
    expect(await store.notifications.batchCheckpoint(appId, id, 'b1')).toEqual({
      commits: 1,
      remaining: [
        { token: token(8), environment: 'production' },
        { token: token(9), environment: 'sandbox' },
      ],
    });
    expect((await store.notifications.get(appId, id))?.counts).toEqual({
      targeted: 10,
      accepted: 7,
      rejected: 1,
      invalidated: 0,
      failed: 0,
      pending: 2,
    });
    // The next attempt sends the two left: one accepted, one failed for good.
    const second = commit('b1', {
      after: 1,
      counts: { accepted: 1, rejected: 0, failed: 1, invalidated: 0 },
      outcomes: [{ token: token(9), outcome: 'failed', reason: 'PK_ERR_APNS_TIMEOUT' }],
    });
    expect(await store.notifications.commitBatch(appId, id, second)).toBe(true);
    expect(await store.notifications.commitBatch(appId, id, second)).toBe(false);
    expect(await store.notifications.batchCheckpoint(appId, id, 'b1')).toEqual({ commits: 2, remaining: [] });
    expect((await store.notifications.get(appId, id))?.counts).toMatchObject({ accepted: 8, rejected: 1, failed: 1, pending: 0 });
    const failures = await store.notifications.listFailures(appId, id);
    expect(failures.ok && failures.value.items.map((f) => [f.token, f.outcome, f.reason])).toEqual(
      [
        [token(3), 'rejected', 'BadTopic'],
        [token(9), 'failed', 'PK_ERR_APNS_TIMEOUT'],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    // Accepted devices have no row unless they were given as outcomes (recordDeliveries).
    expect((await store.notifications.recordedTokens(appId, id, [token(1), token(3), token(9)])).size).toBe(2);
    const audited = commit('b2', {
      counts: { accepted: 1, rejected: 0, failed: 0, invalidated: 0 },
      outcomes: [{ token: token(1), outcome: 'accepted', apnsId: '00000000-0000-4000-8000-000000000001' }],
    });
    expect(await store.notifications.commitBatch(appId, id, audited)).toBe(true);
    expect([...(await store.notifications.recordedTokens(appId, id, [token(1)]))]).toEqual([token(1)]);
  });

  it("many runs of one batch committing at once: exactly one lands; another app's notification takes none", async () => {
    const store = ctx.store();
    const appId = await ctx.newApp();
    const id = await sendingNotification(store, appId, 100);
    const run = commit('b', { counts: { accepted: 90, rejected: 10, failed: 0, invalidated: 0 } });
    const applied = await Promise.all(Array.from({ length: 6 }, () => store.notifications.commitBatch(appId, id, run)));
    expect(applied.filter(Boolean)).toHaveLength(1);
    expect((await store.notifications.get(appId, id))?.counts).toMatchObject({ accepted: 90, rejected: 10, pending: 0 });
    const other = await ctx.newApp();
    expect(await store.notifications.commitBatch(other, id, commit('c', { counts: run.counts }))).toBe(false);
    expect(await store.notifications.batchCheckpoint(other, id, 'b')).toEqual({ commits: 0, remaining: [] });
    expect((await store.notifications.get(appId, id))?.counts.accepted).toBe(90);
  });

  it('last_success_at is rewritten only where it is unset or older than the allowed age, only for this app', async () => {
    const store = ctx.store();
    const appId = await ctx.newApp();
    const other = await ctx.newApp();
    const now = new Date('2026-06-06T12:00:00Z');
    const fresh = new Date(now.getTime() - 2 * 3_600_000);
    const stale = new Date(now.getTime() - 2 * DAY);
    const [never, recent, old] = [token(1, 7), token(2, 7), token(3, 7)];
    for (const t of [never, recent, old]) {
      expect((await store.devices.register(appId, { token: t })).ok).toBe(true);
      expect((await store.devices.register(other, { token: t })).ok).toBe(true);
    }
    await store.devices.markSuccess(appId, [recent], fresh);
    await store.devices.markSuccess(appId, [old], stale);
    const id = await sendingNotification(store, appId, 3);
    const succeeded = [never, recent, old];
    expect(
      await store.notifications.commitBatch(appId, id, commit('b', { succeeded, successAt: now, successMaxAgeMs: DAY, counts: { ...NONE, accepted: 3 } })),
    ).toBe(true);
    const lastSuccess = async (app: string, t: DeviceToken) => {
      const device = await store.devices.get(app, t);
      return device.ok ? (device.value?.lastSuccessAt ?? null) : undefined;
    };
    expect(await lastSuccess(appId, never)).toEqual(now);
    expect(await lastSuccess(appId, recent)).toEqual(fresh); // younger than a day: left alone
    expect(await lastSuccess(appId, old)).toEqual(now);
    for (const t of succeeded) expect(await lastSuccess(other, t)).toBeNull();
    // A commit that does not apply marks nothing; age 0 rewrites every accepted device.
    const later = new Date(now.getTime() + 60_000);
    expect(await store.notifications.commitBatch(appId, id, commit('b', { succeeded, successAt: later, successMaxAgeMs: 0 }))).toBe(false);
    expect(await lastSuccess(appId, never)).toEqual(now);
    expect(await store.notifications.commitBatch(appId, id, commit('b2', { succeeded, successAt: later, successMaxAgeMs: 0 }))).toBe(true);
    for (const t of succeeded) expect(await lastSuccess(appId, t)).toEqual(later);
  });
}
