/**
 * The hourly maintenance job against a real SQLite store: what is past its retention goes, what is
 * not stays, and each purge is logged with its count.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import { runMaintenance } from '../../src/service/maintenance.ts';
import { openStore, type Store } from '../../src/store/index.ts';

const DAY = 86_400_000;
const now = new Date('2026-06-30T12:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY);
const token = (n: number) => n.toString(16).padStart(64, '0') as DeviceToken;

describe('maintenance job', () => {
  let dir: string | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('purges invalidation records and finished notifications past their retention, each on its own setting', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pk-maintenance-'));
    const db = openStore({ url: `sqlite:${join(dir, 'pk.db')}`, secretKey: randomBytes(32) });
    store = db;
    await db.migrate();
    const app = await db.apps.create({
      name: 'Retention',
      topic: 'com.example.retention',
      credentials: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: 'p' },
    });
    if (!app.ok) throw new Error(app.error.code);
    const appId = app.value.id;

    // Invalidations removed 40 and 5 days ago; the retention for them is 30 days.
    for (const [n, removed] of [
      [1, daysAgo(40)],
      [2, daysAgo(5)],
    ] as const) {
      await db.devices.register(appId, { token: token(n) }, daysAgo(100));
      const report = { reason: 'Unregistered', source: 'apns-410' as const, at: daysAgo(50) };
      expect(await db.invalidations.invalidate(appId, token(n), report, removed)).toBe('removed');
    }
    // Notifications finished 10 and 3 days ago; the retention for them is 7 days.
    const finished: string[] = [];
    for (const completed of [daysAgo(10), daysAgo(3)]) {
      const created = await db.notifications.create(
        appId,
        { audience: { all: true }, payload: '{}', options: {} },
        completed,
      );
      if (!created.ok) throw new Error(created.error.code);
      const id = created.value.notification.id;
      await db.notifications.transition(appId, id, ['queued'], 'sending', { at: completed });
      await db.notifications.recordOutcomes(appId, id, [{ token: token(1), outcome: 'accepted' }]);
      await db.notifications.transition(appId, id, ['sending'], 'done', { at: completed });
      finished.push(id);
    }

    const logged: { fields: Record<string, unknown>; message: string }[] = [];
    const logger = {
      debug() {},
      info: (fields: Record<string, unknown>, message: string) => logged.push({ fields, message }),
      warn() {},
      error() {},
    };
    const deps = {
      store: db,
      logger,
      invalidationRetentionDays: 30,
      notificationRetentionDays: 7,
      now: () => now,
    };
    await runMaintenance(deps);

    const invalidations = await db.invalidations.list(appId);
    expect(invalidations.ok && invalidations.value.items.map((i) => i.token)).toEqual([token(2)]);
    expect(await db.notifications.get(appId, finished[0]!)).toBeNull();
    expect((await db.notifications.get(appId, finished[1]!))?.counts.accepted).toBe(1);
    expect(logged).toEqual([
      { fields: { purged: 1 }, message: 'purged old invalidation records' },
      { fields: { purged: 1 }, message: 'purged old notifications and their outcomes' },
    ]);

    // Nothing left past retention: nothing purged, nothing logged.
    await runMaintenance(deps);
    expect(logged).toHaveLength(2);
  });
});
