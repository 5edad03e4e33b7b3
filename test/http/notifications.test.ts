import type { DeviceToken } from '../../src/domain/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type CreatedApp, createApp, createHarness, type Harness, tokenFor } from './harness.ts';

let h: Harness;
let app: CreatedApp;
beforeAll(async () => {
  h = await createHarness({ maxRecipientsPerRequest: 5, broadcastRateLimit: 2 });
  app = await createApp(h, 'Pusher', { feedback: { host: '127.0.0.1', port: 2196 } });
});
afterAll(async () => {
  await h.close();
});

const send = (payload: unknown, headers: Record<string, string> = {}, key = app.apiKey) =>
  h.app.inject({
    method: 'POST',
    url: `/v1/apps/${app.id}/notifications`,
    headers: { ...bearer(key), ...headers },
    payload: payload as object,
  });

const hello = { aps: { alert: { title: 'Hi', body: 'Hello' }, badge: 1 }, orderId: 7 };

describe('POST /v1/apps/:app/notifications', () => {
  it('accepts a push (202) and persists it', async () => {
    const response = await send({
      audience: { alias: '42' },
      payload: hello,
      options: { pushType: 'alert', priority: 10, collapseId: 'order-7' },
    });
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toMatchObject({ status: 'queued', created: true });
    expect(body.id).toMatch(/^ntf_/);
    const stored = await h.store.notifications.get(app.id, body.id);
    expect(stored?.audience).toEqual({ alias: '42' });
    expect(JSON.parse(stored!.payload)).toEqual(hello);
  });

  it('answers the same notification for a repeated Idempotency-Key and 409 for a different body', async () => {
    const request = { audience: { alias: '43' }, payload: hello };
    const first = await send(request, { 'idempotency-key': 'order-7-push' });
    const second = await send(request, { 'idempotency-key': 'order-7-push' });
    expect(second.statusCode).toBe(202);
    expect(second.json()).toMatchObject({ id: first.json().id, created: false });
    expect(second.headers['idempotent-replayed']).toBe('true');
    const conflict = await send(
      { audience: { alias: '44' }, payload: hello },
      { 'idempotency-key': 'order-7-push' },
    );
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('PK_ERR_IDEMPOTENCY_CONFLICT');
  });

  it.each([
    ['no audience', { payload: hello }, 'PK_ERR_VALIDATION'],
    [
      'an audience with two forms',
      { audience: { alias: '1', all: true }, payload: hello },
      'PK_ERR_AUDIENCE_INVALID',
    ],
    [
      'a bad token in the audience',
      { audience: { tokens: ['abc'] }, payload: hello },
      'PK_ERR_TOKEN_INVALID',
    ],
    [
      'a payload that is not an object',
      { audience: { alias: '1' }, payload: 'hi' },
      'PK_ERR_PAYLOAD_INVALID',
    ],
    [
      'a payload over 4 KiB',
      { audience: { alias: '1' }, payload: { aps: { alert: 'x'.repeat(5000) } } },
      'PK_ERR_PAYLOAD_TOO_LARGE',
    ],
    [
      'an unknown push type',
      { audience: { alias: '1' }, payload: hello, options: { pushType: 'fax' } },
      'PK_ERR_PUSH_TYPE_INVALID',
    ],
    [
      'a bad priority',
      { audience: { alias: '1' }, payload: hello, options: { priority: 7 } },
      'PK_ERR_PRIORITY_INVALID',
    ],
    [
      'a bad expiration',
      { audience: { alias: '1' }, payload: hello, options: { expiration: -1 } },
      'PK_ERR_EXPIRATION_INVALID',
    ],
    [
      'a long collapse id',
      { audience: { alias: '1' }, payload: hello, options: { collapseId: 'x'.repeat(65) } },
      'PK_ERR_COLLAPSE_ID_INVALID',
    ],
    [
      'too many recipients',
      { audience: { aliases: ['1', '2', '3', '4', '5', '6'] }, payload: hello },
      'PK_ERR_TOO_MANY_RECIPIENTS',
    ],
    ['an unknown field', { audience: { alias: '1' }, payload: hello, extra: 1 }, 'PK_ERR_VALIDATION'],
    // JSON bodies are not coerced (src/http/validators.ts).
    [
      'a priority given as text',
      { audience: { alias: '1' }, payload: hello, options: { priority: '10' } },
      'PK_ERR_PRIORITY_INVALID',
    ],
    ['an alias given as a number', { audience: { alias: 1 }, payload: hello }, 'PK_ERR_ALIAS_INVALID'],
  ])('refuses %s and stores nothing', async (_name, payload, code) => {
    const before = h.push.accepted;
    const response = await send(payload);
    expect(response.json().error.code).toBe(code);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(h.push.accepted).toBe(before);
  });

  it('refuses an Idempotency-Key over 255 characters', async () => {
    const response = await send(
      { audience: { alias: '1' }, payload: hello },
      { 'idempotency-key': 'k'.repeat(256) },
    );
    expect(response.json().error.code).toBe('PK_ERR_VALIDATION');
  });

  it('limits pushes to all devices per app', async () => {
    expect((await send({ audience: { all: true }, payload: hello })).statusCode).toBe(202);
    expect((await send({ audience: { all: true }, payload: hello })).statusCode).toBe(202);
    const limited = await send({ audience: { all: true }, payload: hello });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('PK_ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Targeted pushes are not broadcast-limited.
    expect((await send({ audience: { alias: '42' }, payload: hello })).statusCode).toBe(202);
  });

  it('refuses the publishable key (403) and sends nothing', async () => {
    const before = h.push.accepted;
    const response = await send({ audience: { all: true }, payload: hello }, {}, app.publishableKey);
    expect(response.statusCode).toBe(403);
    expect(response.json().error.code).toBe('PK_ERR_FORBIDDEN');
    expect(h.push.accepted).toBe(before);
  });
});

describe('GET/DELETE /v1/apps/:app/notifications/:id', () => {
  it('answers status and counts, lists notifications, failures, and cancels', async () => {
    const accepted = (
      await send({ audience: { tokens: [tokenFor(1), tokenFor(2), tokenFor(3)] }, payload: hello })
    ).json();
    await h.store.notifications.checkpointFanout(app.id, accepted.id, {
      cursor: null,
      targetedDelta: 3,
      complete: true,
    });
    await h.store.notifications.recordOutcomes(app.id, accepted.id, [
      { token: tokenFor(1) as DeviceToken, outcome: 'accepted', apnsId: null },
      { token: tokenFor(2) as DeviceToken, outcome: 'invalidated', reason: 'Unregistered' },
    ]);
    const shown = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/notifications/${accepted.id}`,
      headers: bearer(app.apiKey),
    });
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({
      id: accepted.id,
      status: 'queued',
      counts: { targeted: 3, accepted: 1, rejected: 0, invalidated: 1, failed: 0, pending: 1 },
      completedAt: null,
    });
    expect(typeof shown.json().createdAt).toBe('string');

    const failures = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/notifications/${accepted.id}/failures?limit=10`,
      headers: bearer(app.apiKey),
    });
    expect(failures.json()).toMatchObject({
      items: [{ token: tokenFor(2), outcome: 'invalidated', reason: 'Unregistered' }],
      nextCursor: null,
    });

    const listed = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/notifications?limit=2`,
      headers: bearer(app.apiKey),
    });
    expect(listed.json().items).toHaveLength(2);
    expect(listed.json().nextCursor).not.toBeNull();

    const cancelled = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}/notifications/${accepted.id}`,
      headers: bearer(app.apiKey),
    });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toEqual({ id: accepted.id, result: 'cancelled', status: 'cancelled' });
    const again = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}/notifications/${accepted.id}`,
      headers: bearer(app.apiKey),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'PK_ERR_CONFLICT', details: { status: 'cancelled' } });
  });

  it('answers 404 for an unknown notification on every route', async () => {
    for (const [method, suffix] of [
      ['GET', ''],
      ['GET', '/failures'],
      ['DELETE', ''],
    ] as const) {
      const response = await h.app.inject({
        method,
        url: `/v1/apps/${app.id}/notifications/ntf_nope${suffix}`,
        headers: bearer(app.apiKey),
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('PK_ERR_NOTIFICATION_NOT_FOUND');
    }
  });

  it('refuses the publishable key on reads', async () => {
    const response = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/notifications`,
      headers: bearer(app.publishableKey),
    });
    expect(response.statusCode).toBe(403);
  });
});

describe('invalidations and feedback', () => {
  it('lists removed tokens since a time, paginated', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    for (const n of [0x10, 0x11, 0x12]) {
      await h.store.devices.register(app.id, { token: tokenFor(n) }, new Date('2025-12-01T00:00:00Z'));
      await h.store.invalidations.invalidate(app.id, tokenFor(n) as DeviceToken, {
        reason: 'Unregistered',
        source: 'apns-410',
        at,
      });
    }
    const page = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/invalidations?since=2000-01-01T00:00:00Z&limit=2`,
      headers: bearer(app.apiKey),
    });
    expect(page.statusCode).toBe(200);
    expect(page.json().items).toHaveLength(2);
    expect(page.json().items[0]).toMatchObject({
      reason: 'Unregistered',
      source: 'apns-410',
      apnsTimestamp: at.toISOString(),
    });
    const rest = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/invalidations?limit=2&cursor=${encodeURIComponent(page.json().nextCursor)}`,
      headers: bearer(app.apiKey),
    });
    expect(rest.json().items).toHaveLength(1);
    expect(rest.json().nextCursor).toBeNull();
    const future = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/invalidations?since=2999-01-01T00:00:00Z`,
      headers: bearer(app.apiKey),
    });
    expect(future.json().items).toHaveLength(0);
    const bad = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/invalidations?since=yesterday`,
      headers: bearer(app.apiKey),
    });
    expect(bad.json().error.code).toBe('PK_ERR_VALIDATION');
  });

  it('polls the feedback service now', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/feedback:poll`,
      headers: bearer(app.apiKey),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      appId: app.id,
      tuplesRead: 2,
      removed: 1,
      at: '2026-01-01T00:00:00.000Z',
    });
    const other = await createApp(h, 'No feedback');
    const unconfigured = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${other.id}/feedback:poll`,
      headers: bearer(other.apiKey),
    });
    expect(unconfigured.statusCode).toBe(400);
    expect(unconfigured.json().error.code).toBe('PK_ERR_FEEDBACK_NOT_CONFIGURED');
    const pub = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/feedback:poll`,
      headers: bearer(app.publishableKey),
    });
    expect(pub.statusCode).toBe(403);
  });
});
