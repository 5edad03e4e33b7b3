/**
 * The mass-invalidation guard and provider health on the whole pipeline, against the mock APNs
 * server, on SQLite and PostgreSQL: a configuration error deletes no device and fails the
 * notification with a code naming the cause; an endpoint where nothing listens fails the push fast
 * with the reason and says why in the app's health.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import { BUNDLE_ID, type Backend, type Harness, randomToken, startHarness } from './pipeline-harness.ts';

const alert = { aps: { alert: 'hello' } };

async function webhookReceiver() {
  const received: Record<string, unknown>[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A port that was just free: nothing listens there. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function accept(h: Harness, audience: unknown) {
  const accepted = await h.pipeline.push.accept(h.app.id, { audience, payload: alert, options: {} });
  if (!accepted.ok) throw new Error(`${accepted.error.code}: ${accepted.error.message}`);
  return accepted.value.notification;
}

async function countDevices(h: Harness): Promise<number> {
  let count = 0;
  for await (const page of h.store.devices.streamAudience(h.app.id, { all: true }, { pageSize: 1000, after: null })) {
    count += page.devices.length;
  }
  return count;
}

const code = (failureReason: string | null) => failureReason?.split(':')[0];

describe.each<Backend>(['sqlite', 'postgres'])('registry guard on %s', (backend) => {
  let harness: Harness | undefined;
  let receiver: Awaited<ReturnType<typeof webhookReceiver>> | undefined;
  afterEach(async () => {
    await harness?.close();
    await receiver?.close();
    harness = undefined;
    receiver = undefined;
  });

  it('a push to 1,000 devices through an app with the wrong topic deletes none and fails naming the topic', async () => {
    receiver = await webhookReceiver();
    harness = await startHarness(backend, {
      topic: 'com.example.wrong',
      batchSize: 500,
      webhook: { url: receiver.url, secret: 'a-webhook-secret-of-enough-length-123' },
    });
    const h = harness;
    const tokens: DeviceToken[] = Array.from({ length: 1000 }, randomToken);
    const imported = await h.store.devices.import(h.app.id, tokens.map((token) => ({ token, environment: 'production' as const })));
    expect(imported.ok).toBe(true);
    for (const token of tokens) h.production.registerDevice(token, { topic: BUNDLE_ID, environment: 'production' });
    const notification = await accept(h, { all: true });
    const final = await h.waitForFinal(notification.id, 60_000);
    expect(final.status).toBe('failed');
    expect(code(final.failureReason)).toBe('PK_ERR_APNS_TOPIC_MISMATCH');
    expect(final.failureReason).toContain('com.example.wrong');
    expect(final.counts.invalidated).toBe(0);
    expect(await countDevices(h)).toBe(1000);
    expect(await h.store.invalidations.list(h.app.id, {})).toMatchObject({ ok: true, value: { items: [] } });
    const app = await h.store.apps.get(h.app.id);
    expect(app?.apnsHealth.status).toBe('misconfigured');
    const warn = h.logs.find((line) => line.level === 'warn' && line.fields['code'] === 'PK_ERR_APNS_TOPIC_MISMATCH');
    expect(warn?.fields['appId']).toBe(h.app.id);
    await expect.poll(() => receiver!.received.map((event) => event['type']), { timeout: 20_000 }).toContain('app.misconfigured');
    expect(receiver.received.find((event) => event['type'] === 'app.misconfigured')).toMatchObject({ code: 'PK_ERR_APNS_TOPIC_MISMATCH' });

    // Fixing the topic makes the app healthy and the same push reaches everyone.
    const fixed = await h.store.apps.update(h.app.id, { topic: BUNDLE_ID });
    expect(fixed.ok && fixed.value.apnsHealth.status).toBe('healthy');
    const again = await h.waitForFinal((await accept(h, { all: true })).id, 60_000);
    expect(again.status).toBe('done');
    expect(again.counts).toMatchObject({ accepted: 1000, invalidated: 0 });
  });

  it('TopicDisallowed fails the notification as a refused topic and keeps the device', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const token = randomToken();
    await h.register(token, { environment: 'production' });
    h.production.respondWith(() => ({ status: 400, reason: 'TopicDisallowed' }));
    const final = await h.waitForFinal((await accept(h, { tokens: [token] })).id);
    expect(final.status).toBe('failed');
    expect(code(final.failureReason)).toBe('PK_ERR_APNS_TOPIC_REFUSED');
    expect((await h.store.devices.get(h.app.id, token)).ok).toBe(true);
    expect(await countDevices(h)).toBe(1);
    expect((await h.store.apps.get(h.app.id))?.apnsHealth).toMatchObject({ status: 'misconfigured' });
  });

  it('BadDeviceToken in both environments for most of a batch deletes none; for a few it removes those few', async () => {
    harness = await startHarness(backend);
    const h = harness;
    // Known to neither mock: both environments answer BadDeviceToken.
    for (let i = 0; i < 40; i += 1) await h.register(randomToken(), { environment: 'production', atMock: false });
    const final = await h.waitForFinal((await accept(h, { all: true })).id);
    expect(final.status).toBe('failed');
    expect(code(final.failureReason)).toBe('PK_ERR_APNS_TOKENS_REJECTED');
    expect(await countDevices(h)).toBe(40);
  });

  it('a few tokens refused in both environments among good devices are removed as usual', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const garbage = Array.from({ length: 3 }, randomToken);
    for (const token of garbage) await h.register(token, { environment: 'production', atMock: false });
    for (let i = 0; i < 50; i += 1) await h.register(randomToken(), { environment: 'production' });
    const final = await h.waitForFinal((await accept(h, { all: true })).id);
    expect(final.status).toBe('done');
    expect(final.counts).toMatchObject({ accepted: 50, invalidated: 3 });
    expect(await countDevices(h)).toBe(50);
    expect((await h.store.apps.get(h.app.id))?.apnsHealth.status).toBe('healthy');
  });

  it('an app pointed at a closed port fails its push fast with the reason, and its health says why', async () => {
    harness = await startHarness(backend, {
      guard: { thresholds: { fraction: 0.5, minDevices: 10 }, unreachableFailAfterMs: 0 },
      client: { connectTimeoutMs: 1000, retry: { maxAttempts: 2 } },
    });
    const h = harness;
    const port = await closedPort();
    const updated = await h.store.apps.update(h.app.id, {
      endpoints: { production: `https://127.0.0.1:${port}`, sandbox: `https://127.0.0.1:${port}`, caPem: h.caPem },
    });
    expect(updated.ok).toBe(true);
    const token = randomToken();
    await h.register(token, { environment: 'production' });
    const final = await h.waitForFinal((await accept(h, { tokens: [token] })).id, 60_000);
    expect(final.status).toBe('failed');
    expect(code(final.failureReason)).toBe('PK_ERR_APNS_UNREACHABLE');
    const health = (await h.store.apps.get(h.app.id))?.apnsHealth;
    expect(health?.status).toBe('unreachable');
    expect(health?.status !== 'healthy' && health?.reason.split(':')[0]).toBe('PK_ERR_APNS_CONNECTION');
    const warn = h.logs.find((line) => line.level === 'warn' && line.fields['appId'] === h.app.id && 'reason' in line.fields);
    expect(warn).toBeDefined();
    expect((await h.store.devices.get(h.app.id, token)).ok).toBe(true);

    // Pointed back at the mock: the change resets the health and the next push is delivered.
    await h.store.apps.update(h.app.id, {
      endpoints: { production: h.production.url, sandbox: h.sandbox.url, caPem: h.caPem },
    });
    const again = await h.waitForFinal((await accept(h, { tokens: [token] })).id);
    expect(again.status).toBe('done');
    expect((await h.store.apps.get(h.app.id))?.apnsHealth.status).toBe('healthy');
  });
});
