/**
 * Tenant isolation: app A's keys on app B's resources answer 404 — the same
 * as for something that does not exist — and change nothing, send nothing.
 */
import type { DeviceToken } from '../../src/domain/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type CreatedApp, createApp, createHarness, type Harness, tokenFor } from './harness.ts';

let h: Harness;
let a: CreatedApp;
let b: CreatedApp;
let bNotification: string;
const bToken = tokenFor(0xb0b);

async function snapshotOfB() {
  const device = await h.store.devices.get(b.id, bToken);
  const notification = await h.store.notifications.get(b.id, bNotification);
  const keys = await h.store.keys.list(b.id);
  const app = await h.store.apps.get(b.id);
  return {
    device: device.ok ? device.value : null,
    devices: await h.store.devices.count(b.id, { all: true }),
    notificationStatus: notification?.status,
    keys: keys.map((k) => [k.id, k.revokedAt]),
    app: app === null ? null : { name: app.name, topic: app.topic },
    accepted: h.push.accepted,
    polls: h.feedback.polls.length,
  };
}

beforeAll(async () => {
  h = await createHarness();
  a = await createApp(h, 'A', { feedback: { host: '127.0.0.1', port: 2196 } });
  b = await createApp(h, 'B', { feedback: { host: '127.0.0.1', port: 2196 } });
  await h.store.devices.register(b.id, { token: bToken, alias: 'bob', tags: ['vip'] });
  await h.store.devices.register(b.id, { token: tokenFor(0xdead) }, new Date('2025-01-01T00:00:00Z'));
  await h.store.invalidations.invalidate(b.id, tokenFor(0xdead) as DeviceToken, {
    reason: 'Unregistered',
    source: 'apns-410',
    at: new Date('2026-01-01T00:00:00Z'),
  });
  const pushed = await h.app.inject({
    method: 'POST',
    url: `/v1/apps/${b.id}/notifications`,
    headers: bearer(b.apiKey),
    payload: { audience: { alias: 'bob' }, payload: { aps: { alert: 'hi' } } },
  });
  bNotification = pushed.json().id;
});
afterAll(async () => {
  await h.close();
});

describe("app A's keys on app B's paths", () => {
  const requests = () => [
    { method: 'GET' as const, url: `/v1/apps/${b.id}` },
    { method: 'GET' as const, url: `/v1/apps/${b.id}/devices/${bToken}` },
    { method: 'PUT' as const, url: `/v1/apps/${b.id}/devices/${bToken}`, payload: { alias: 'mallory' } },
    {
      method: 'PUT' as const,
      url: `/v1/apps/${b.id}/devices/${tokenFor(0xeee)}`,
      payload: { alias: 'mallory' },
    },
    { method: 'DELETE' as const, url: `/v1/apps/${b.id}/devices/${bToken}` },
    { method: 'DELETE' as const, url: `/v1/apps/${b.id}/devices/${bToken}/alias` },
    { method: 'GET' as const, url: `/v1/apps/${b.id}/devices` },
    { method: 'GET' as const, url: `/v1/apps/${b.id}/aliases/bob/devices` },
    { method: 'DELETE' as const, url: `/v1/apps/${b.id}/aliases/bob` },
    {
      method: 'POST' as const,
      url: `/v1/apps/${b.id}/notifications`,
      payload: { audience: { all: true }, payload: { aps: { alert: 'spam' } } },
    },
    { method: 'GET' as const, url: `/v1/apps/${b.id}/notifications` },
    { method: 'GET' as const, url: `/v1/apps/${b.id}/notifications/${bNotification}` },
    { method: 'GET' as const, url: `/v1/apps/${b.id}/notifications/${bNotification}/failures` },
    { method: 'DELETE' as const, url: `/v1/apps/${b.id}/notifications/${bNotification}` },
    { method: 'GET' as const, url: `/v1/apps/${b.id}/invalidations` },
    { method: 'POST' as const, url: `/v1/apps/${b.id}/feedback:poll` },
    { method: 'GET' as const, url: `/v1/apps/${b.id}/keys` },
    { method: 'POST' as const, url: `/v1/apps/${b.id}/keys`, payload: { scope: 'server' } },
    { method: 'DELETE' as const, url: `/v1/apps/${b.id}/keys/${'key_x'}` },
    { method: 'PATCH' as const, url: `/v1/apps/${b.id}`, payload: { name: 'pwned' } },
    { method: 'DELETE' as const, url: `/v1/apps/${b.id}` },
  ];

  it.each(['server', 'publishable'] as const)(
    'answers 404 with the %s key and changes nothing',
    async (scope) => {
      const key = scope === 'server' ? a.apiKey : a.publishableKey;
      const before = await snapshotOfB();
      for (const request of requests()) {
        const response = await h.app.inject({ ...request, headers: bearer(key) });
        expect(response.statusCode, `${request.method} ${request.url}`).toBe(404);
        expect(response.json().error.code).toBe('PK_ERR_APP_NOT_FOUND');
        expect(response.body).not.toContain('bob');
        expect(response.body).not.toContain(bToken);
      }
      const importResponse = await h.app.inject({
        method: 'POST',
        url: `/v1/apps/${b.id}/devices:import`,
        headers: { ...bearer(key), 'content-type': 'application/x-ndjson' },
        payload: JSON.stringify({ token: tokenFor(0xfff), alias: 'mallory' }),
      });
      expect(importResponse.statusCode).toBe(404);
      expect(await snapshotOfB()).toEqual(before);
    },
  );

  it("answers 404 for B's device and notification under A's own path", async () => {
    const before = await snapshotOfB();
    const device = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${a.id}/devices/${bToken}`,
      headers: bearer(a.apiKey),
    });
    expect(device.json().error.code).toBe('PK_ERR_DEVICE_NOT_FOUND');
    const notification = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${a.id}/notifications/${bNotification}`,
      headers: bearer(a.apiKey),
    });
    expect(notification.json().error.code).toBe('PK_ERR_NOTIFICATION_NOT_FOUND');
    const cancel = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${a.id}/notifications/${bNotification}`,
      headers: bearer(a.apiKey),
    });
    expect(cancel.statusCode).toBe(404);
    const alias = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${a.id}/aliases/bob/devices`,
      headers: bearer(a.apiKey),
    });
    expect(alias.json().items).toEqual([]);
    const invalidations = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${a.id}/invalidations`,
      headers: bearer(a.apiKey),
    });
    expect(invalidations.json().items).toEqual([]);
    const keyOfB = (await h.store.keys.list(b.id))[0]!;
    const revoke = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${a.id}/keys/${keyOfB.id}`,
      headers: bearer(a.apiKey),
    });
    expect(revoke.statusCode).toBe(404);
    expect(await snapshotOfB()).toEqual(before);
  });

  it("lets B's own key and the admin see B's device", async () => {
    for (const key of [b.apiKey, h.adminToken]) {
      const response = await h.app.inject({
        method: 'GET',
        url: `/v1/apps/${b.id}/devices/${bToken}`,
        headers: bearer(key),
      });
      expect(response.statusCode).toBe(200);
      expect(response.json().alias).toBe('bob');
    }
  });
});
