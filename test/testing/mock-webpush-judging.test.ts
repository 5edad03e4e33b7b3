/** The mock push service refuses what the real services refuse, with their status and reason. */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptWebPushPayload } from '../../src/providers/webpush/encrypt.ts';
import { generateVapidKeys, VapidSigner } from '../../src/providers/webpush/vapid.ts';
import {
  type MockWebPushServer,
  type PushSubscriptionJson,
  startMockWebPushServer,
} from '../../src/testing/index.ts';

let mock: MockWebPushServer;
let session: http2.ClientHttp2Session;
const signer = new VapidSigner({ ...generateVapidKeys(), subject: 'mailto:ops@example.com' });

beforeAll(async () => {
  mock = await startMockWebPushServer();
  session = http2.connect(mock.origin, { ca: mock.caPem });
});

afterAll(async () => {
  session?.close();
  await mock?.close();
});

function body(subscription: PushSubscriptionJson, text = 'hello'): Buffer {
  return encryptWebPushPayload(
    {
      p256dh: Buffer.from(subscription.keys.p256dh, 'base64url'),
      auth: Buffer.from(subscription.keys.auth, 'base64url'),
    },
    Buffer.from(text),
  );
}

function post(
  subscription: PushSubscriptionJson,
  headers: Record<string, string | undefined>,
  payload: Buffer,
  method = 'POST',
) {
  const path = subscription.endpoint.slice(mock.origin.length);
  const base: Record<string, string> = {
    ':method': method,
    ':path': path,
    ttl: '60',
    'content-encoding': 'aes128gcm',
    authorization: signer.authorization(mock.origin),
  };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return new Promise<{ status: number; reason: string | undefined; detail: string | undefined }>(
    (resolve, reject) => {
      const req = session.request(base, { endStream: method === 'GET' });
      let status = 0;
      let text = '';
      req.on('response', (h) => {
        status = Number(h[':status']);
      });
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        text += c;
      });
      req.on('end', () => {
        const parsed = text === '' ? {} : (JSON.parse(text) as { reason?: string; detail?: string });
        resolve({ status, reason: parsed.reason, detail: parsed.detail });
      });
      req.on('error', reject);
      if (method === 'GET') return;
      req.end(payload);
    },
  );
}

describe('mock push service judging', () => {
  it('accepts a well-formed push and refuses bad headers like the services do', async () => {
    const s = mock.mintSubscription();
    expect((await post(s, {}, body(s))).status).toBe(201);
    expect(await post(s, { ttl: undefined }, body(s))).toMatchObject({ status: 400, reason: 'BadTtl' });
    expect(await post(s, { ttl: '-5' }, body(s))).toMatchObject({ status: 400, reason: 'BadTtl' });
    expect(await post(s, { urgency: 'urgent' }, body(s))).toMatchObject({
      status: 400,
      reason: 'BadUrgency',
    });
    expect(await post(s, { topic: 'has space' }, body(s))).toMatchObject({
      status: 400,
      reason: 'BadWebPushTopic',
    });
    expect(await post(s, { topic: 'a'.repeat(33) }, body(s))).toMatchObject({
      status: 400,
      reason: 'BadWebPushTopic',
    });
    expect(await post(s, { 'content-encoding': 'aesgcm' }, body(s))).toMatchObject({
      status: 400,
      reason: 'BadWebPushRequest',
    });
    expect(await post(s, {}, Buffer.alloc(4097))).toMatchObject({ status: 413, reason: 'PayloadTooLarge' });
    expect(await post(s, {}, body(s), 'GET')).toMatchObject({ status: 405 });
    const unknown = { ...s, endpoint: `${mock.origin}/push/nope` };
    expect(await post(unknown, {}, body(s))).toMatchObject({ status: 404, reason: 'BadPath' });
  });

  it('checks VAPID on every request: missing, another audience, tampered', async () => {
    const s = mock.mintSubscription();
    expect(await post(s, { authorization: undefined }, body(s))).toMatchObject({
      status: 403,
      detail: 'missing-authorization',
    });
    const elsewhere = signer.authorization('https://fcm.googleapis.com');
    expect(await post(s, { authorization: elsewhere }, body(s))).toMatchObject({
      status: 403,
      reason: 'BadJwtToken',
      detail: 'bad-aud',
    });
    const good = signer.authorization(mock.origin);
    const tampered = good.replace(/\.([A-Za-z0-9_-])/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    expect((await post(s, { authorization: tampered }, body(s))).status).toBe(403);
  });

  it('decrypts every message: a body for another subscription, a broken tag, a reused salt are refused', async () => {
    const a = mock.mintSubscription();
    const b = mock.mintSubscription();
    expect(await post(a, {}, body(b))).toMatchObject({ status: 400, detail: 'tag-mismatch' });
    const broken = body(a);
    broken[broken.length - 1] = broken[broken.length - 1]! ^ 1;
    expect(await post(a, {}, broken)).toMatchObject({ status: 400, detail: 'tag-mismatch' });
    const once = body(a, 'first');
    expect((await post(a, {}, once)).status).toBe(201);
    // The identical body again is a legitimate resend; the same salt with other bytes is not.
    expect((await post(a, {}, once)).status).toBe(201);
    const reused = Buffer.from(body(a, 'other'));
    once.copy(reused, 0, 0, 16);
    expect((await post(a, {}, reused)).status).toBe(400);
    const gone = mock.mintSubscription();
    mock.setSubscriptionState(gone.endpoint, 'gone');
    expect(await post(gone, {}, body(gone))).toMatchObject({ status: 410 });
    expect(mock.stats().rejected).toBeGreaterThan(0);
  });
});
