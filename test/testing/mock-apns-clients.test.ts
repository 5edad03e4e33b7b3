/**
 * Independent, real APNs clients against the mock: @parse/node-apn and AndrewBarba's apns2.
 *
 * - node-apn takes `address`, `port` and `ca` options, so it points at the mock as is.
 * - apns2 builds its undici Pool from `https://${host}:443` (port fixed) and takes no CA option.
 *   A second mock listens on 127.0.0.2:443 (the whole 127/8 is loopback on Linux, so no clash with
 *   anything on 127.0.0.1; binding 443 needs root or CAP_NET_BIND_SERVICE, which this machine's
 *   test runs have), apns2 gets host `127.0.0.2`, and the mock's CA is added to this worker
 *   process's default CAs with tls.setDefaultCACertificates (the in-process equivalent of
 *   NODE_EXTRA_CA_CERTS), restored afterwards. apns2 itself runs unmodified.
 */
import tls from 'node:tls';
import apn from '@parse/node-apn';
import { ApnsClient, Notification } from 'apns2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type MockApnsServer, startMockApnsServer } from '../../src/testing/index.ts';

const TOPIC = 'com.example.app';
const DEVICE = 'ab'.repeat(32);
const GONE_DEVICE = '01'.repeat(32);
const UNKNOWN_DEVICE = '99'.repeat(32);
const GONE_AT = 1_750_000_000_123;

const key = generateSigningKey({ teamId: 'TEAM000001', keyId: 'KEY0000001' });
const unknownKey = generateSigningKey({ teamId: 'TEAM000001', keyId: 'KEY0000666' });
let server: MockApnsServer;
let port443: MockApnsServer;
let defaultCas: string[];

function registerDevices(mock: MockApnsServer): void {
  mock.registerDevice(DEVICE, { topic: TOPIC });
  mock.registerDevice(GONE_DEVICE, { topic: TOPIC });
  mock.unregisterDevice(GONE_DEVICE, GONE_AT);
}

beforeAll(async () => {
  server = await startMockApnsServer({ signingKeys: [key] });
  port443 = await startMockApnsServer({ host: '127.0.0.2', port: 443, signingKeys: [key] });
  registerDevices(server);
  registerDevices(port443);
  defaultCas = tls.getCACertificates('default');
  tls.setDefaultCACertificates([...defaultCas, port443.caPem]);
});

afterAll(async () => {
  tls.setDefaultCACertificates(defaultCas);
  await Promise.all([server?.close(), port443?.close()]);
});

describe('@parse/node-apn', () => {
  function provider(signing = key): apn.Provider {
    return new apn.Provider({
      token: { key: signing.privateKeyPem, keyId: signing.keyId, teamId: signing.teamId },
      address: '127.0.0.1',
      port: server.port,
      ca: [server.caPem],
      production: true,
    });
  }

  function note(): apn.Notification {
    const notification = new apn.Notification();
    notification.topic = TOPIC;
    notification.pushType = 'alert';
    notification.alert = 'hello from node-apn';
    return notification;
  }

  it('gets 200, 410 with the timestamp, and 400 BadDeviceToken', async () => {
    const client = provider();
    try {
      // Like APNs, the mock allows one stream until a push has authenticated: the first send
      // goes alone, the rest may then share the connection.
      const first = await client.send(note(), DEVICE);
      expect(first.sent.map((s) => s.device)).toEqual([DEVICE]);
      const result = await client.send(note(), [GONE_DEVICE, UNKNOWN_DEVICE]);
      expect(result.sent).toEqual([]);
      const failed = Object.fromEntries(result.failed.map((f) => [f.device, f]));
      expect(Number(failed[GONE_DEVICE]?.status)).toBe(410);
      expect(failed[GONE_DEVICE]?.response).toEqual({ reason: 'Unregistered', timestamp: GONE_AT });
      expect(Number(failed[UNKNOWN_DEVICE]?.status)).toBe(400);
      expect(failed[UNKNOWN_DEVICE]?.response).toEqual({ reason: 'BadDeviceToken' });
      expect(
        server.accepted.some((n) => n.token === DEVICE && n.payload.includes('hello from node-apn')),
      ).toBe(true);
    } finally {
      await client.shutdown();
    }
  });

  it('gets 403 InvalidProviderToken for an unknown key', async () => {
    const client = provider(unknownKey);
    try {
      const result = await client.send(note(), DEVICE);
      expect(result.sent).toEqual([]);
      expect(Number(result.failed[0]?.status)).toBe(403);
      expect(result.failed[0]?.response).toEqual({ reason: 'InvalidProviderToken' });
    } finally {
      await client.shutdown();
    }
  });
});

describe('apns2 (AndrewBarba)', () => {
  function client(signing = key): ApnsClient {
    return new ApnsClient({
      team: signing.teamId,
      keyId: signing.keyId,
      signingKey: signing.privateKeyPem,
      defaultTopic: TOPIC,
      host: '127.0.0.2',
      keepAlive: false,
    });
  }

  async function failure(
    promise: Promise<unknown>,
  ): Promise<{ statusCode: number; reason: string; timestamp?: number }> {
    try {
      await promise;
    } catch (error) {
      const e = error as { statusCode: number; reason: string; response?: { timestamp?: number } };
      return {
        statusCode: e.statusCode,
        reason: e.reason,
        ...(e.response?.timestamp === undefined ? {} : { timestamp: e.response.timestamp }),
      };
    }
    throw new Error('expected the send to fail');
  }

  it('gets 200 for a valid push', async () => {
    const apns = client();
    try {
      const sent = await apns.send(new Notification(DEVICE, { alert: 'hello from apns2' }));
      expect(sent.deviceToken).toBe(DEVICE);
      expect(port443.accepted.some((n) => n.payload.includes('hello from apns2'))).toBe(true);
    } finally {
      await apns.close();
    }
  });

  it('gets 410 with the timestamp, 400 BadDeviceToken, and 403 InvalidProviderToken for an unknown key', async () => {
    const apns = client();
    const stranger = client(unknownKey);
    try {
      expect(await failure(apns.send(new Notification(GONE_DEVICE, { alert: 'x' })))).toEqual({
        statusCode: 410,
        reason: 'Unregistered',
        timestamp: GONE_AT,
      });
      expect(await failure(apns.send(new Notification(UNKNOWN_DEVICE, { alert: 'x' })))).toEqual({
        statusCode: 400,
        reason: 'BadDeviceToken',
      });
      expect(await failure(stranger.send(new Notification(DEVICE, { alert: 'x' })))).toEqual({
        statusCode: 403,
        reason: 'InvalidProviderToken',
      });
    } finally {
      await apns.close();
      await stranger.close();
    }
  });
});
