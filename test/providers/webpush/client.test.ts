import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  generateVapidKeys,
  WebPushClient,
  type WebPushClientOptions,
} from '../../../src/providers/webpush/index.ts';
import { type MockWebPushServer, startMockWebPushServer } from '../../../src/testing/index.ts';

const vapid = { ...generateVapidKeys(), subject: 'mailto:ops@example.com' };
const noWait = { now: () => Date.now(), sleep: () => Promise.resolve() };
let both: MockWebPushServer;
let http1: MockWebPushServer;
const clients: WebPushClient[] = [];

function clientFor(mock: MockWebPushServer, extra: Partial<WebPushClientOptions> = {}): WebPushClient {
  const client = new WebPushClient({
    vapid,
    allowedEndpointHosts: [new URL(mock.origin).host],
    tls: { ca: mock.caPem },
    clock: noWait,
    ...extra,
  });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  both = await startMockWebPushServer();
  http1 = await startMockWebPushServer({ protocols: 'http1' });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  both.setFaults({});
  both.reset();
  http1.reset();
});

afterAll(async () => {
  await Promise.all([both?.close(), http1?.close()]);
});

describe('WebPushClient against the mock push service', () => {
  it('HTTP/2 where ALPN offers it: the mock decrypts exactly what was sent, with TTL, urgency and topic', async () => {
    const client = clientFor(both);
    const subscription = both.mintSubscription();
    const payload = JSON.stringify({ title: 'Order shipped', body: 'ünïcödé ✓' });
    const outcome = await client.send(subscription, {
      payload,
      ttlSeconds: 3600,
      priority: 'high',
      collapseKey: 'order-7x',
    });
    expect(outcome).toMatchObject({ kind: 'accepted', status: 201, attempts: 1 });
    expect(outcome.kind === 'accepted' && outcome.location).toMatch(/\/m\//);
    const [message] = both.messages();
    expect(message?.plaintext.toString('utf8')).toBe(payload);
    expect(message).toMatchObject({
      ttl: 3600,
      urgency: 'high',
      topic: 'order-7x',
      httpVersion: '2.0',
      endpoint: subscription.endpoint,
    });
    expect(client.stats().origins).toEqual({ [both.origin]: 'h2' });
  });

  it('HTTP/1.1 keep-alive where the service speaks only that; the endpoint query is kept verbatim', async () => {
    const client = clientFor(http1);
    const subscription = http1.mintSubscription({ withQuery: true });
    expect(subscription.endpoint).toContain('?token=');
    const results = [];
    for await (const r of client.sendMany(
      Array.from({ length: 20 }, (_, i) => ({ subscription, message: { payload: `m${i}`, ttlSeconds: 0 } })),
    )) {
      results.push(r);
    }
    expect(results.every((r) => r.outcome.kind === 'accepted')).toBe(true);
    expect(new Set(http1.messages().map((m) => m.plaintext.toString()))).toEqual(
      new Set(Array.from({ length: 20 }, (_, i) => `m${i}`)),
    );
    expect(http1.messages().every((m) => m.httpVersion === '1.1')).toBe(true);
    expect(client.stats().origins).toEqual({ [http1.origin]: 'http/1.1' });
    expect(http1.stats().connections).toBeLessThanOrEqual(1 + 20); // probe + pooled sockets, never more than the sends
  });

  it('sendMany: one outcome per subscription with its disposition; one VAPID token for the origin', async () => {
    const client = clientFor(both);
    const live = Array.from({ length: 50 }, () => both.mintSubscription());
    const gone = both.mintSubscription();
    both.setSubscriptionState(gone.endpoint, 'gone');
    const expired = both.mintSubscription();
    both.setSubscriptionState(expired.endpoint, 'expired');
    const otherKey = both.mintSubscription({ applicationServerKey: generateVapidKeys().publicKey });
    const deliveries = [...live, gone, expired, otherKey].map((subscription, i) => ({
      subscription,
      message: { payload: `hello ${i}`, ttlSeconds: 60 },
      ref: i,
    }));
    const byRef = new Map<number, unknown>();
    for await (const { delivery, outcome } of client.sendMany(deliveries, { concurrency: 16 }))
      byRef.set(delivery.ref!, outcome);
    expect(byRef.size).toBe(53);
    for (let i = 0; i < 50; i += 1) expect(byRef.get(i)).toMatchObject({ kind: 'accepted' });
    expect(byRef.get(50)).toMatchObject({
      kind: 'rejected',
      status: 410,
      disposition: 'invalidate-token',
      scope: 'device',
    });
    expect(byRef.get(51)).toMatchObject({ kind: 'rejected', status: 404, disposition: 'invalidate-token' });
    expect(byRef.get(52)).toMatchObject({
      kind: 'rejected',
      status: 403,
      reason: 'VapidPkHashMismatch',
      disposition: 'invalidate-token',
    });
    expect((byRef.get(50) as { sentAt: Date }).sentAt).toBeInstanceOf(Date);
    expect(both.stats().distinctTokensByAudience).toEqual({ [both.origin]: 1 });
    expect(both.stats().ephemeralKeyReuses).toBe(0);
  });

  it('429 with Retry-After is retried within the budget; with no attempts left it comes back as retry', async () => {
    const client = clientFor(both);
    const subscription = both.mintSubscription();
    both.setFaults({ tooManyRequests: { probability: 1, retryAfterSeconds: 2 } });
    const once = clientFor(both, { maxAttempts: 1 });
    const rejected = await once.send(subscription, { payload: 'x', ttlSeconds: 60 });
    expect(rejected).toMatchObject({
      kind: 'rejected',
      status: 429,
      disposition: 'retry',
      retryAfterMs: 2000,
    });
    const far = clientFor(both, { maxRetryWaitMs: 1000 });
    expect(await far.send(subscription, { payload: 'x', ttlSeconds: 60 })).toMatchObject({
      kind: 'rejected',
      attempts: 1,
    });
    both.setFaults({ tooManyRequests: { probability: 0.5, retryAfterSeconds: 1 }, seed: 7 });
    const outcomes = [];
    for await (const r of client.sendMany(
      Array.from({ length: 20 }, (_, i) => ({ subscription, message: { payload: `r${i}`, ttlSeconds: 60 } })),
    )) {
      outcomes.push(r.outcome);
    }
    expect(client.stats().retries).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.kind === 'accepted').length).toBeGreaterThan(10);
  });

  it('refuses what cannot be sent before any request: unknown host, oversized payload, bad TTL, a key off the curve', async () => {
    const client = clientFor(both);
    const subscription = both.mintSubscription();
    const elsewhere = { ...subscription, endpoint: 'https://127.0.0.1:1/push/x' };
    expect(await client.send(elsewhere, { payload: 'x', ttlSeconds: 60 })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_WEBPUSH_ENDPOINT_NOT_ALLOWED',
    });
    expect(await client.send(subscription, { payload: Buffer.alloc(3994), ttlSeconds: 60 })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_WEBPUSH_PAYLOAD_TOO_LARGE',
    });
    expect(await client.send(subscription, { payload: 'x', ttlSeconds: -1 })).toMatchObject({
      code: 'PK_ERR_WEBPUSH_OPTIONS_INVALID',
    });
    const point = Buffer.from(subscription.keys.p256dh, 'base64url');
    point[64] = point[64]! ^ 1;
    const offCurve = { ...subscription, keys: { ...subscription.keys, p256dh: point.toString('base64url') } };
    expect(await client.send(offCurve, { payload: 'x', ttlSeconds: 60 })).toMatchObject({
      reason: 'p256dh-not-on-curve',
    });
    expect(both.stats().requests).toBe(0);
  });

  it('a connection dropped after the request left is an ambiguous failure, not resent', async () => {
    const client = clientFor(both);
    const subscription = both.mintSubscription();
    both.setFaults({ dropConnection: { probability: 1 } });
    const outcome = await client.send(subscription, { payload: 'x', ttlSeconds: 60 });
    expect(outcome).toMatchObject({ kind: 'failed', code: 'PK_ERR_WEBPUSH_CONNECTION', ambiguous: true });
    both.setFaults({});
    expect(await client.send(subscription, { payload: 'y', ttlSeconds: 60 })).toMatchObject({
      kind: 'accepted',
    });
  });

  it('an unreachable push service fails with PK_ERR_WEBPUSH_CONNECTION; close() is idempotent and later sends fail', async () => {
    const closed = await startMockWebPushServer();
    const subscription = closed.mintSubscription();
    const client = clientFor(closed);
    await closed.close();
    expect(await client.send(subscription, { payload: 'x', ttlSeconds: 60 })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_WEBPUSH_CONNECTION',
      ambiguous: false,
    });
    await Promise.all([client.close(), client.close()]);
    expect(await client.send(subscription, { ttlSeconds: 60 })).toMatchObject({
      code: 'PK_ERR_WEBPUSH_CLIENT_CLOSED',
    });
  });

  it('keeps within SETTINGS_MAX_CONCURRENT_STREAMS and the connection limit', async () => {
    const narrow = await startMockWebPushServer({ protocols: 'h2', maxConcurrentStreams: 4 });
    try {
      const client = clientFor(narrow, { maxConnectionsPerOrigin: 2 });
      const subscription = narrow.mintSubscription();
      async function* input() {
        for (let i = 0; i < 60; i += 1) yield { subscription, message: { payload: `n${i}`, ttlSeconds: 60 } };
      }
      let accepted = 0;
      for await (const { outcome } of client.sendMany(input(), { concurrency: 50 }))
        if (outcome.kind === 'accepted') accepted += 1;
      expect(accepted).toBe(60);
      // One ALPN probe plus at most two sessions.
      expect(narrow.stats().h2Connections).toBeLessThanOrEqual(3);
    } finally {
      await narrow.close();
    }
  });

  it('a long Retry-After (autopush sends 120 s) goes back to the caller; an unanswered request times out ambiguously', async () => {
    const client = clientFor(both, { requestTimeoutMs: 200 });
    const subscription = both.mintSubscription();
    both.setFaults({ unavailable: { probability: 1, retryAfterSeconds: 120 } });
    expect(await client.send(subscription, { payload: 'x', ttlSeconds: 60 })).toMatchObject({
      kind: 'rejected',
      status: 503,
      disposition: 'retry',
      retryAfterMs: 120_000,
      attempts: 1,
    });
    both.setFaults({ delayMs: 1500 });
    expect(await client.send(subscription, { payload: 'x', ttlSeconds: 60 })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_WEBPUSH_TIMEOUT',
      ambiguous: true,
    });
  });
});
