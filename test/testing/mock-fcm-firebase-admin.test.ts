/**
 * firebase-admin itself, pointed at the mock FCM server: the mock must answer Google's own SDK the
 * way FCM does (names, error codes), over HTTP/1.1 (`send()`, legacy transport) and HTTP/2
 * (`sendEach()`, once its `:scheme` quirk is corrected).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import type https from 'node:https';
import {
  type MockFcmServer,
  type MockServiceAccountFile,
  startMockFcmServer,
} from '../../src/testing/index.ts';
import { fcmToken } from '../providers/fcm/fixtures.ts';
import { mockCredential, redirectHttp2, redirectingAgent } from './support/firebase-admin-redirect.ts';

let mock: MockFcmServer;
let account: MockServiceAccountFile;
let agent: https.Agent;
let appCount = 0;
const apps: App[] = [];

function newApp(): App {
  const app = initializeApp(
    { credential: mockCredential(account, agent), httpAgent: agent, projectId: mock.projectId },
    `mock-fcm-${appCount++}`,
  );
  apps.push(app);
  return app;
}

beforeAll(async () => {
  mock = await startMockFcmServer();
  account = mock.createServiceAccount();
  agent = redirectingAgent(mock);
});
afterAll(async () => {
  await Promise.all(apps.map((app) => deleteApp(app)));
  agent?.destroy();
  await mock?.close();
});

describe('firebase-admin against the mock FCM server', () => {
  it('send() over HTTP/1.1 is accepted and recorded as FCM would name it', async () => {
    const token = fcmToken();
    mock.registerDevice(token);
    const name = await getMessaging(newApp()).send({
      token,
      notification: { title: 'Hi' },
      android: { ttl: 60_000, priority: 'high' },
    });
    expect(name).toMatch(/^projects\/mock-project\/messages\/0:/);
    const recorded = mock.accepted.find((m) => m.token === token);
    expect(recorded).toMatchObject({
      httpVersion: 'http/1.1',
      message: { android: { ttl: '60s', priority: 'high' } },
    });
  });

  it("maps the mock's answers to firebase-admin's error codes", async () => {
    const gone = fcmToken();
    const foreign = fcmToken();
    mock.unregisterDevice(gone);
    mock.registerDevice(foreign, 'mismatched');
    const messaging = getMessaging(newApp());
    messaging.enableLegacyHttpTransport();
    const batch = await messaging.sendEach([
      { token: gone, data: { a: 'b' } },
      { token: foreign, data: { a: 'b' } },
      { token: fcmToken(), data: { a: 'b' } },
      { token: gone, data: { from: 'reserved' } },
    ]);
    expect(batch.responses.map((r) => r.error?.code)).toEqual([
      'messaging/registration-token-not-registered',
      'messaging/mismatched-credential',
      'messaging/invalid-argument',
      'messaging/invalid-argument',
    ]);
  });

  it('sendEach() over HTTP/2 works once :scheme is "https"; as firebase-admin sends it, nghttp2 refuses it', async () => {
    const tokens = [fcmToken(), fcmToken(), fcmToken()];
    for (const token of tokens) mock.registerDevice(token);
    const before = mock.stats.byHttpVersion['h2'] ?? 0;
    let undo = redirectHttp2(mock, { fixScheme: true });
    try {
      const batch = await getMessaging(newApp()).sendEach(
        tokens.map((token) => ({ token, notification: { title: 'x' } })),
      );
      expect(batch.successCount).toBe(3);
      expect((mock.stats.byHttpVersion['h2'] ?? 0) - before).toBe(3);
    } finally {
      undo();
    }
    undo = redirectHttp2(mock, { fixScheme: false });
    try {
      const batch = await getMessaging(newApp()).sendEach([
        { token: tokens[0]!, notification: { title: 'x' } },
      ]);
      expect(batch.failureCount).toBe(1);
    } finally {
      undo();
    }
  });

  it('a quota window reaches firebase-admin as message-rate-exceeded (it does not retry 429)', async () => {
    const token = fcmToken();
    mock.registerDevice(token);
    mock.setFaults({
      failNext: { status: 429, errorCode: 'QUOTA_EXCEEDED', count: 1, retryAfterSeconds: 1 },
    });
    try {
      await expect(getMessaging(newApp()).send({ token, data: { a: 'b' } })).rejects.toMatchObject({
        code: 'messaging/message-rate-exceeded',
      });
    } finally {
      mock.setFaults({});
    }
  });
});
