import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/service/webhook.ts';
import { type Backend, type Harness, randomToken, startHarness } from './pipeline-harness.ts';

const alert = { aps: { alert: { title: 'Hi', body: 'You have a message' } }, orderId: 7 };

async function webhookReceiver() {
  const received: { body: string; signature: string }[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(request.headers['pushkeeper-signature']) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/apns`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe.each<Backend>(['sqlite', 'postgres'])('push pipeline on %s', (backend) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  async function accept(h: Harness, body: { audience: unknown; payload?: unknown; options?: unknown }, key?: string) {
    const accepted = await h.pipeline.push.accept(
      h.app.id,
      { audience: body.audience, payload: body.payload ?? alert, options: body.options ?? {} },
      key === undefined ? {} : { idempotencyKey: key },
    );
    if (!accepted.ok) throw new Error(`${accepted.error.code}: ${accepted.error.message}`);
    return accepted.value.notification;
  }

  it('pushes by alias to exactly that user, each device through its own environment', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const phone = randomToken();
    const sandboxBuild = randomToken();
    const someoneElse = randomToken();
    await h.register(phone, { environment: 'production', alias: '42' });
    await h.register(sandboxBuild, { environment: 'sandbox', alias: '42' });
    await h.register(someoneElse, { environment: 'production', alias: '43' });
    const notification = await accept(h, { audience: { alias: '42' } });
    expect(notification.status).toBe('queued');
    const final = await h.waitForFinal(notification.id);
    expect(final.status).toBe('done');
    expect(final.counts).toMatchObject({ targeted: 2, accepted: 2, rejected: 0, invalidated: 0, failed: 0, pending: 0 });
    expect(h.production.accepted.map((n) => n.token)).toEqual([phone]);
    expect(h.sandbox.accepted.map((n) => n.token)).toEqual([sandboxBuild]);
    const sent = h.production.accepted[0]!;
    expect(sent.topic).toBe('com.example.pipeline');
    expect(JSON.parse(sent.payload.toString('utf8'))).toEqual(alert);
    expect((await h.store.devices.get(h.app.id, phone)).ok).toBe(true);
  });

  it('pushes by tokens, tags and to all; an empty audience is done with 0 targeted', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const tokens = Array.from({ length: 5 }, randomToken);
    for (const [i, token] of tokens.entries()) {
      await h.register(token, { environment: 'production', tags: i < 2 ? ['beta'] : ['stable'] });
    }
    const byTokens = await accept(h, { audience: { tokens: [tokens[3]!, tokens[4]!] } });
    expect((await h.waitForFinal(byTokens.id)).counts.accepted).toBe(2);
    const byTag = await accept(h, { audience: { tags: ['beta'] } });
    expect((await h.waitForFinal(byTag.id)).counts.accepted).toBe(2);
    const all = await accept(h, { audience: { all: true } });
    expect((await h.waitForFinal(all.id)).counts).toMatchObject({ targeted: 5, accepted: 5, pending: 0 });
    const nobody = await accept(h, { audience: { alias: 'no-such-user' } });
    const empty = await h.waitForFinal(nobody.id);
    expect(empty.status).toBe('done');
    expect(empty.counts.targeted).toBe(0);
    const sentTo = h.production.accepted.map((n) => n.token);
    expect(sentTo.filter((t) => t === tokens[0])).toHaveLength(2); // tag beta + all
    expect(sentTo.filter((t) => t === tokens[4])).toHaveLength(2); // tokens + all
  });

  it('removes a device APNs reports unregistered at T unless it registered again after T, and tells the webhook', async () => {
    const receiver = await webhookReceiver();
    try {
      const secret = 'whsec_test_0123456789';
      harness = await startHarness(backend, { webhook: { url: receiver.url, secret } });
    const h = harness;
      const stale = randomToken();
      const reregistered = randomToken();
      await h.register(stale, { environment: 'production', alias: 'u' });
      const before = Date.now();
      const t = before + 1_000; // APNs says: invalid since T …
      h.production.unregisterDevice(stale, t);
      await h.register(reregistered, { environment: 'production', alias: 'u' });
      h.production.unregisterDevice(reregistered, before - 60_000); // … but this one registered after its T
      const notification = await accept(h, { audience: { alias: 'u' } });
      const final = await h.waitForFinal(notification.id);
      expect(final.counts).toMatchObject({ targeted: 2, invalidated: 1, rejected: 1, accepted: 0, pending: 0 });
      expect((await h.store.devices.get(h.app.id, stale)).ok && (await h.store.devices.get(h.app.id, stale))).toEqual({ ok: true, value: null });
      const kept = await h.store.devices.get(h.app.id, reregistered);
      expect(kept.ok && kept.value?.token).toBe(reregistered);
      const listed = await h.store.invalidations.list(h.app.id);
      expect(listed.ok && listed.value.items.map((i) => [i.token, i.reason, i.apnsTimestamp.getTime()])).toEqual([
        [stale, 'Unregistered', t],
      ]);
      const deadline = Date.now() + 10_000;
      while (receiver.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(receiver.received).toHaveLength(1);
      const delivery = receiver.received[0]!;
      expect(verifyWebhookSignature(secret, delivery.body, delivery.signature)).toBe(true);
      expect(verifyWebhookSignature('wrong-secret', delivery.body, delivery.signature)).toBe(false);
      expect(JSON.parse(delivery.body)).toMatchObject({ type: 'device.invalidated', token: stale, reason: 'Unregistered' });
      const removal = h.logs.find((l) => l.message.startsWith('removed token'));
      expect(removal?.message).toContain(`${stale.slice(0, 4)}…${stale.slice(-4)}`);
      expect(JSON.stringify(h.logs)).not.toContain(stale);
    } finally {
      await receiver.close();
    }
  });

  it('delivers a sandbox token recorded as production through sandbox and corrects its environment', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const token = randomToken();
    await h.register(token, { environment: 'production', alias: 'dev', atMock: 'sandbox' });
    const notification = await accept(h, { audience: { alias: 'dev' } });
    const final = await h.waitForFinal(notification.id);
    expect(final.counts).toMatchObject({ accepted: 1, pending: 0 });
    expect(h.production.rejections.map((r) => r.reason)).toEqual(['BadDeviceToken']);
    expect(h.sandbox.accepted.map((n) => n.token)).toEqual([token]);
    const device = await h.store.devices.get(h.app.id, token);
    expect(device.ok && device.value?.environment).toBe('sandbox');
  });

  it('removes a token rejected as BadDeviceToken in both environments', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const token = randomToken();
    await h.register(token, { environment: 'production', alias: 'ghost', atMock: false });
    const notification = await accept(h, { audience: { alias: 'ghost' } });
    const final = await h.waitForFinal(notification.id);
    expect(final.counts).toMatchObject({ invalidated: 1, pending: 0 });
    expect(await h.store.devices.get(h.app.id, token)).toEqual({ ok: true, value: null });
  });

  it('marks credentials unhealthy on InvalidProviderToken and fails the notification without touching devices', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const token = randomToken();
    await h.register(token, { environment: 'production', alias: 'x' });
    h.production.removeSigningKey('KEYID12345');
    const notification = await accept(h, { audience: { alias: 'x' } });
    const final = await h.waitForFinal(notification.id);
    expect(final.status).toBe('failed');
    expect(final.failureReason?.split(':')[0]).toBe('PK_ERR_APNS_UNAUTHORIZED');
    expect((await h.store.apps.get(h.app.id))?.apnsHealth).toMatchObject({ status: 'unauthorized', reason: 'InvalidProviderToken' });
    const device = await h.store.devices.get(h.app.id, token);
    expect(device.ok && device.value?.token).toBe(token);
  });

  it('fails a notification APNs rejects for its payload, never the devices', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const token = randomToken();
    await h.register(token, { environment: 'production', alias: 'p' });
    h.production.respondWith(() => ({ status: 400, reason: 'BadCollapseId' }));
    const notification = await accept(h, { audience: { alias: 'p' } });
    const final = await h.waitForFinal(notification.id);
    expect(final.status).toBe('failed');
    expect(final.failureReason).toContain('BadCollapseId');
    const device = await h.store.devices.get(h.app.id, token);
    expect(device.ok && device.value?.token).toBe(token);
  });

  it('answers the same notification for a repeated Idempotency-Key and rejects bad input without writing', async () => {
    harness = await startHarness(backend);
    const h = harness;
    await h.register(randomToken(), { environment: 'production', alias: 'i' });
    const first = await accept(h, { audience: { alias: 'i' } }, 'key-1');
    const again = await h.pipeline.push.accept(h.app.id, { audience: { alias: 'i' }, payload: alert }, { idempotencyKey: 'key-1' });
    expect(again.ok && again.value.notification.id).toBe(first.id);
    expect(again.ok && again.value.created).toBe(false);
    await h.waitForFinal(first.id);
    const codes = [];
    for (const request of [
      { audience: { alias: '' }, payload: alert },
      { audience: { alias: 'i' }, payload: { aps: { alert: 'x'.repeat(5000) } } },
      { audience: { alias: 'i' }, payload: alert, options: { pushType: 'background', priority: 10 } },
      { audience: { alias: 'i' }, payload: alert, options: { collapseId: 'x'.repeat(65) } },
      { audience: { tokens: ['nope'] }, payload: alert },
      { audience: { alias: 'i' }, payload: alert, options: { recordDeliveries: 'yes' } },
    ]) {
      const result = await h.pipeline.push.accept(h.app.id, request);
      codes.push(result.ok ? 'ok' : result.error.code);
    }
    expect(codes).toEqual([
      'PK_ERR_ALIAS_INVALID',
      'PK_ERR_PAYLOAD_TOO_LARGE',
      'PK_ERR_PRIORITY_NOT_ALLOWED',
      'PK_ERR_COLLAPSE_ID_INVALID',
      'PK_ERR_TOKEN_INVALID',
      'PK_ERR_OPTIONS_INVALID',
    ]);
    const listed = await h.store.notifications.list(h.app.id);
    expect(listed.ok && listed.value.items).toHaveLength(1);
  });

  it('broadcasts to 100,000 (SQLite) / 20,000 (PostgreSQL) with 1% unregistered: counts add up exactly and those devices are removed', async () => {
    harness = await startHarness(backend, { batchSize: 500 });
    const h = harness;
    // 100,000 devices on the embedded store; a fifth of it on PostgreSQL keeps CI's time in bounds.
    const count = backend === 'sqlite' ? 100_000 : 20_000;
    const tokens = Array.from({ length: count }, randomToken);
    const imported = await h.store.devices.import(
      h.app.id,
      tokens.map((token) => ({ token, environment: 'production' })),
    );
    expect(imported.ok && imported.value.created).toBe(count);
    const past = Date.now() + 5_000;
    for (const [i, token] of tokens.entries()) {
      h.production.registerDevice(token, { topic: 'com.example.pipeline', environment: 'production' });
      if (i % 100 === 0) h.production.unregisterDevice(token, past);
    }
    const notification = await accept(h, { audience: { all: true } });
    const final = await h.waitForFinal(notification.id, 240_000);
    expect(final.status).toBe('done');
    expect(final.counts).toEqual({ targeted: count, accepted: count - count / 100, rejected: 0, invalidated: count / 100, failed: 0, pending: 0 });
    expect(await h.store.devices.count(h.app.id)).toBe(count - count / 100);
    expect(h.production.acceptedCount).toBe(count - count / 100);
  }, 300_000);

  it('cancels: batches not yet sent send nothing', async () => {
    harness = await startHarness(backend, { batchSize: 10 });
    const h = harness;
    for (let i = 0; i < 200; i++) await h.register(randomToken(), { environment: 'production', tags: ['t'] });
    h.production.setFaults({ delayMs: { min: 20, max: 20 } });
    const notification = await accept(h, { audience: { tags: ['t'] } });
    while (h.production.acceptedCount === 0) await new Promise((r) => setTimeout(r, 5));
    expect(await h.pipeline.push.cancel(h.app.id, notification.id)).toBe('cancelled');
    const final = await h.waitForFinal(notification.id);
    expect(final.status).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.production.acceptedCount).toBeLessThan(200);
    expect(await h.pipeline.push.cancel(h.app.id, notification.id)).toBe('already-final');
  });
});

