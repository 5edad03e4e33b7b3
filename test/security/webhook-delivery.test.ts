/**
 * Webhook deliveries to a real HTTPS receiver (a test CA), judged with the `verifyWebhookSignature`
 * the package root exports; and the URL policy applied at the moment of sending: a name resolving
 * to a private address (DNS rebinding), a literal private address saved before the policy, and a
 * redirect, none of which may be followed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/index.ts';
import { isPermanentJobError } from '../../src/queue/permanent-job-error.ts';
import { deliverWebhook, type ResolveAll, type WebhookDeliveryDeps } from '../../src/service/webhook.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/contract.ts';
import { createTestPki } from '../../src/testing/index.ts';

interface Received {
  readonly path: string;
  readonly body: Buffer;
  readonly headers: Record<string, string | string[] | undefined>;
}

const SECRET = randomBytes(32).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'pk-webhook-'));
let store: Store;
let receiver: Server;
let port: number;
let caPem: string;
const received: Received[] = [];
const logs: { message: string; fields: Record<string, unknown> }[] = [];
const logger = {
  debug: () => {},
  info: () => {},
  error: (fields: Record<string, unknown>, message: string) => logs.push({ fields, message }),
  warn: (fields: Record<string, unknown>, message: string) => logs.push({ fields, message }),
};

beforeAll(async () => {
  const pki = await createTestPki({ serverNames: ['hooks.rebind.test'] });
  caPem = pki.caCertPem;
  receiver = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: Buffer.concat(chunks), headers: request.headers });
      if (request.url === '/redirect') response.writeHead(307, { location: '/hook' }).end();
      else response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
  store = openStore({ url: `sqlite:${join(dir, 'pk.db')}`, secretKey: randomBytes(32) });
  await store.migrate();
});
afterAll(async () => {
  await store.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function appWithWebhook(url: string): Promise<string> {
  const created = await store.apps.create({
    name: 'Hooks',
    topic: 'com.example.hooks',
    credentials: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: 'unused' },
    webhook: { url, secret: SECRET },
  });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.id;
}

const event = (n: number) => ({
  id: `evt_${n}`,
  type: 'device.invalidated',
  token: 'ab'.repeat(32),
  reason: 'Unregistered',
  source: 'apns-410',
  apnsTimestamp: '2026-03-01T12:00:00.000Z',
  removedAt: '2026-03-01T12:00:03.120Z',
});

function deps(overrides: Partial<WebhookDeliveryDeps> = {}): WebhookDeliveryDeps {
  return { store, logger, policy: { allowPrivate: true }, caPem, timeoutMs: 5_000, ...overrides };
}

async function refusal(promise: Promise<void>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('the delivery was not refused');
}

describe('a delivered webhook', () => {
  it('verifies with the exported verifyWebhookSignature, and nothing else does', async () => {
    const appId = await appWithWebhook(`https://127.0.0.1:${port}/hook`);
    const before = received.length;
    await deliverWebhook(deps(), { appId, event: event(1) });
    expect(received.length).toBe(before + 1);
    const delivery = received.at(-1)!;
    expect(delivery.path).toBe('/hook');
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(delivery.headers['pushkeeper-event-id']).toBe('evt_1');
    expect(delivery.headers['user-agent']).toBe('pushkeeper-webhook/1');
    const signature = String(delivery.headers['pushkeeper-signature']);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(JSON.parse(delivery.body.toString('utf8'))).toEqual(event(1));

    expect(verifyWebhookSignature(SECRET, delivery.body, signature)).toBe(true);
    expect(verifyWebhookSignature(SECRET, delivery.body.toString('utf8'), signature)).toBe(true);
    expect(verifyWebhookSignature(`${SECRET}0`, delivery.body, signature)).toBe(false);
    const tampered = Buffer.from(delivery.body.toString('utf8').replace('Unregistered', 'BadDeviceToken'));
    expect(verifyWebhookSignature(SECRET, tampered, signature)).toBe(false);
    // A replay ten minutes later is refused; a tolerance can be given.
    const t = Number(signature.slice(2, signature.indexOf(',')));
    expect(verifyWebhookSignature(SECRET, delivery.body, signature, { nowSeconds: t + 600 })).toBe(false);
    expect(
      verifyWebhookSignature(SECRET, delivery.body, signature, {
        nowSeconds: t + 600,
        toleranceSeconds: 900,
      }),
    ).toBe(true);
    for (const header of [
      '',
      'garbage',
      `t=${t}`,
      `v1=${'0'.repeat(64)}`,
      `t=x,v1=${'0'.repeat(64)}`,
      undefined,
    ]) {
      expect(verifyWebhookSignature(SECRET, delivery.body, header)).toBe(false);
    }
    // A second v1 (another secret's) beside the right one still verifies.
    expect(verifyWebhookSignature(SECRET, delivery.body, `${signature},v1=${'0'.repeat(64)}`)).toBe(true);
  });

  it('does not follow a redirect: the 3xx is a failed delivery, retried', async () => {
    const appId = await appWithWebhook(`https://127.0.0.1:${port}/redirect`);
    const before = received.length;
    const error = await refusal(deliverWebhook(deps(), { appId, event: event(2) }));
    expect(isPermanentJobError(error)).toBe(false);
    expect(received.slice(before).map((r) => r.path)).toEqual(['/redirect']);
  });
});

describe('the URL policy at the moment of sending', () => {
  it('refuses a loopback receiver without PUSHKEEPER_WEBHOOK_ALLOW_PRIVATE, and does not retry', async () => {
    // Saved before the policy existed (the store takes any URL): refused when it matters.
    const appId = await appWithWebhook(`https://127.0.0.1:${port}/hook`);
    const before = received.length;
    const error = await refusal(
      deliverWebhook(deps({ policy: { allowPrivate: false } }), { appId, event: event(3) }),
    );
    expect(isPermanentJobError(error)).toBe(true);
    expect(received.length).toBe(before);
    expect(logs.at(-1)?.fields).toMatchObject({
      appId,
      code: 'PK_ERR_WEBHOOK_URL_REFUSED',
      reason: 'loopback-address',
    });
  });

  it('refuses a name that resolves to a private address by the time of sending (DNS rebinding)', async () => {
    const appId = await appWithWebhook(`https://hooks.rebind.test:${port}/hook`);
    const lookups: string[] = [];
    const rebinding: ResolveAll = (hostname, callback) => {
      lookups.push(hostname);
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    };
    const before = received.length;
    const error = await refusal(
      deliverWebhook(deps({ policy: { allowPrivate: false }, resolve: rebinding }), {
        appId,
        event: event(4),
      }),
    );
    expect(isPermanentJobError(error)).toBe(true);
    expect(lookups).toEqual(['hooks.rebind.test']);
    expect(received.length).toBe(before);
    expect(logs.at(-1)?.fields).toMatchObject({ reason: 'loopback-address' });

    // One private address among public ones is enough to refuse.
    const mixed: ResolveAll = (_hostname, callback) =>
      callback(null, [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ]);
    const mixedError = await refusal(
      deliverWebhook(deps({ policy: { allowPrivate: false }, resolve: mixed }), { appId, event: event(5) }),
    );
    expect(isPermanentJobError(mixedError)).toBe(true);
    expect(received.length).toBe(before);
  });

  it('connects to exactly the address it checked', async () => {
    // Allowed private targets: the name resolves (through the seam) to the receiver's address, and
    // the delivery arrives there, so the checked lookup is the one the connection used.
    const appId = await appWithWebhook(`https://hooks.rebind.test:${port}/hook`);
    const resolve: ResolveAll = (_hostname, callback) =>
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    const before = received.length;
    await deliverWebhook(deps({ resolve }), { appId, event: event(6) });
    expect(received.length).toBe(before + 1);
    expect(received.at(-1)?.headers.host).toBe(`hooks.rebind.test:${port}`);
  });
});
