/**
 * The mock push service judged by an independent sender: the `web-push` npm library encrypts and
 * signs on its own, and the mock must decrypt and accept what it sends (and answer it like a real
 * service would).
 */
import https from 'node:https';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockWebPushServer, startMockWebPushServer } from '../../src/testing/index.ts';

let mock: MockWebPushServer;
let agent: https.Agent;
const keys = webpush.generateVAPIDKeys();
const vapidDetails = {
  subject: 'mailto:ops@example.com',
  publicKey: keys.publicKey,
  privateKey: keys.privateKey,
};

beforeAll(async () => {
  mock = await startMockWebPushServer();
  agent = new https.Agent({ ca: mock.caPem, keepAlive: true });
});

afterAll(async () => {
  agent?.destroy();
  await mock?.close();
});

describe('the mock push service with the web-push library', () => {
  it('decrypts what web-push sends and answers 201 with a Location', async () => {
    const subscription = mock.mintSubscription({ applicationServerKey: keys.publicKey });
    const payload = JSON.stringify({ title: 'hi', n: 1, text: 'x'.repeat(2000) });
    const result = await webpush.sendNotification(subscription, payload, {
      vapidDetails,
      TTL: 120,
      urgency: 'low',
      topic: 'news',
      agent,
    });
    expect(result.statusCode).toBe(201);
    expect(result.headers['location']).toMatch(/\/m\//);
    const [message] = mock.messages();
    expect(message?.plaintext.toString('utf8')).toBe(payload);
    expect(message).toMatchObject({ ttl: 120, urgency: 'low', topic: 'news', httpVersion: '1.1' });
  });

  it('answers a gone subscription 410 and a wrong VAPID key 403 VapidPkHashMismatch', async () => {
    const gone = mock.mintSubscription();
    mock.setSubscriptionState(gone.endpoint, 'gone');
    await expect(webpush.sendNotification(gone, 'x', { vapidDetails, TTL: 60, agent })).rejects.toMatchObject(
      { statusCode: 410 },
    );
    const restricted = mock.mintSubscription({ applicationServerKey: webpush.generateVAPIDKeys().publicKey });
    const refused = webpush.sendNotification(restricted, 'x', { vapidDetails, TTL: 60, agent });
    await expect(refused).rejects.toMatchObject({ statusCode: 403 });
    await refused.catch((error: { body: string }) =>
      expect(JSON.parse(error.body)).toEqual({ reason: 'VapidPkHashMismatch' }),
    );
  });

  it('refuses a body over 4096 bytes with 413 (web-push does not check the size itself)', async () => {
    const subscription = mock.mintSubscription();
    await expect(
      webpush.sendNotification(subscription, 'y'.repeat(4000), { vapidDetails, TTL: 60, agent }),
    ).rejects.toMatchObject({
      statusCode: 413,
    });
  });
});
