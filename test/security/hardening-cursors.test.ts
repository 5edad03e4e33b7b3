/**
 * Pagination cursors reveal nothing and belong to one app and one list: they are sealed with a key
 * derived from the server secret (AES-256-GCM, the app, list and notification bound as associated
 * data), so their bytes say nothing of row ids or of other tenants' volume, and a cursor of app A
 * (or of another list, or a forged one) is refused with PK_ERR_CURSOR_INVALID by app B.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import {
  bearer,
  type CreatedApp,
  createApp,
  createHarness,
  type Harness,
  tokenFor,
} from '../http/harness.ts';

let h: Harness;
let a: CreatedApp;
let b: CreatedApp;
let aNotifications: string[] = [];

async function get(app: CreatedApp, path: string, cursor?: string) {
  const separator = path.includes('?') ? '&' : '?';
  return h.app.inject({
    method: 'GET',
    url: `/v1/apps/${app.id}${path}${cursor === undefined ? '' : `${separator}cursor=${encodeURIComponent(cursor)}`}`,
    headers: bearer(app.apiKey),
  });
}

beforeAll(async () => {
  h = await createHarness();
  a = await createApp(h, 'A');
  b = await createApp(h, 'B');
  // B registers many devices in between, moving any database-wide counter.
  for (let i = 0; i < 3; i += 1) await h.store.devices.register(a.id, { token: tokenFor(0xa00 + i) });
  for (let i = 0; i < 40; i += 1) await h.store.devices.register(b.id, { token: tokenFor(0xb00 + i) });
  for (let i = 3; i < 6; i += 1) await h.store.devices.register(a.id, { token: tokenFor(0xa00 + i) });
  for (const app of [a, b]) {
    for (let i = 0; i < 3; i += 1) {
      const token = tokenFor((app === a ? 0xa10 : 0xb10) + i);
      await h.store.devices.register(app.id, { token }, new Date('2025-01-01T00:00:00Z'));
      await h.store.invalidations.invalidate(app.id, token as DeviceToken, {
        reason: 'Unregistered',
        source: 'apns-410',
        at: new Date('2026-01-01T00:00:00Z'),
      });
    }
  }
  aNotifications = [];
  for (let i = 0; i < 3; i += 1) {
    const pushed = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${a.id}/notifications`,
      headers: bearer(a.apiKey),
      payload: { audience: { alias: 'nobody' }, payload: { aps: { alert: `n${i}` } } },
    });
    aNotifications.push(pushed.json().id);
  }
  for (const id of aNotifications) {
    await h.store.notifications.recordOutcomes(
      a.id,
      id,
      [0, 1, 2].map((i) => ({
        token: tokenFor(0xa20 + i) as DeviceToken,
        outcome: 'rejected' as const,
        reason: 'BadDeviceToken',
        apnsId: null,
        at: new Date('2026-01-01T00:00:00Z'),
      })),
    );
  }
});
afterAll(async () => {
  await h.close();
});

const lists = () => [
  { name: 'devices', path: '/devices?limit=2' },
  { name: 'invalidations', path: '/invalidations?limit=1' },
  { name: 'notifications', path: '/notifications?limit=1' },
  { name: 'failures', path: `/notifications/${aNotifications[0]}/failures?limit=1` },
];

describe('cursors of every paginated list', () => {
  it('walk each list of app A completely, each row once', async () => {
    for (const list of lists()) {
      const seen: unknown[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 50; pages += 1) {
        const response = await get(a, list.path, cursor);
        expect(response.statusCode, `${list.name}: ${response.body}`).toBe(200);
        seen.push(...response.json().items);
        cursor = response.json().nextCursor ?? undefined;
        if (cursor === undefined) break;
      }
      expect(seen.length, list.name).toBeGreaterThan(1);
      expect(new Set(seen.map((item) => JSON.stringify(item))).size, list.name).toBe(seen.length);
    }
  });

  it('say nothing readable: no JSON, no row id, the same length however many rows the database holds', async () => {
    for (const list of lists()) {
      const cursor: string = (await get(a, list.path)).json().nextCursor;
      expect(cursor, list.name).toMatch(/^[A-Za-z0-9_-]+$/);
      const decoded = Buffer.from(cursor, 'base64url').toString('latin1');
      expect(() => JSON.parse(decoded), list.name).toThrow();
      expect(decoded, list.name).not.toMatch(/"[ikt]":/);
      expect(decoded, list.name).not.toContain(list.name);
    }
    const first = (await get(a, '/devices?limit=1')).json().nextCursor as string;
    const later = (await get(a, '/devices?limit=5')).json().nextCursor as string;
    expect(later.length).toBe(first.length);
  });

  it("app A's cursor is refused on app B's list", async () => {
    for (const list of lists().slice(0, 3)) {
      const cursor: string = (await get(a, list.path)).json().nextCursor;
      const response = await get(b, list.path, cursor);
      expect(response.statusCode, list.name).toBe(400);
      expect(response.json().error.code, list.name).toBe('PK_ERR_CURSOR_INVALID');
    }
  });

  it('a cursor of one list is refused by another, and by another notification', async () => {
    const devices: string = (await get(a, '/devices?limit=2')).json().nextCursor;
    const onInvalidations = await get(a, '/invalidations?limit=1', devices);
    expect(onInvalidations.json().error.code).toBe('PK_ERR_CURSOR_INVALID');
    const failures: string = (await get(a, `/notifications/${aNotifications[0]}/failures?limit=1`)).json()
      .nextCursor;
    const otherNotification = await get(a, `/notifications/${aNotifications[1]}/failures?limit=1`, failures);
    expect(otherNotification.json().error.code).toBe('PK_ERR_CURSOR_INVALID');
  });

  it('forged and altered cursors are refused', async () => {
    const legacy = Buffer.from(JSON.stringify({ k: 'devices', i: 1 })).toString('base64url');
    const real: string = (await get(a, '/devices?limit=2')).json().nextCursor;
    const flipped = Buffer.from(real, 'base64url');
    flipped[flipped.length - 20]! ^= 1;
    for (const cursor of [legacy, flipped.toString('base64url'), real.slice(0, -4), 'AAAA', 'nope!']) {
      const response = await get(a, '/devices?limit=2', cursor);
      expect(response.statusCode, cursor).toBe(400);
      expect(response.json().error.code, cursor).toBe('PK_ERR_CURSOR_INVALID');
    }
  });

  it('another API process with the same secret reads the cursor', async () => {
    const second = await createHarness({}, { sameDatabaseAs: h });
    try {
      const cursor: string = (await get(a, '/devices?limit=2')).json().nextCursor;
      const response = await second.app.inject({
        method: 'GET',
        url: `/v1/apps/${a.id}/devices?limit=2&cursor=${encodeURIComponent(cursor)}`,
        headers: bearer(a.apiKey),
      });
      expect(response.statusCode, response.body).toBe(200);
    } finally {
      await second.close();
    }
  });
});
