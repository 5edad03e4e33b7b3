/** Every validation rule of the mock in token mode, with the exact status and reason, over TLS + HTTP/2. */
import type http2 from 'node:http2';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  type MockApnsServer,
  signProviderToken,
  startMockApnsServer,
  type TestSigningKey,
} from '../../src/testing/index.ts';
import { closeSession, connect, type PushAnswer, type PushInput, push } from './support/h2-client.ts';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const TOPIC = 'com.example.app';
const DEVICE = 'ab'.repeat(32);
const SANDBOX_DEVICE = 'cd'.repeat(32);
const OTHER_APP_DEVICE = 'ef'.repeat(32);
const GONE_DEVICE = '01'.repeat(32);
const EXPIRED_DEVICE = '02'.repeat(32);
const GONE_AT = START - 86_400_000;

let nowMs = START;
let server: MockApnsServer;
let key: TestSigningKey;
let otherTeamKey: TestSigningKey;
let session: http2.ClientHttp2Session;

const seconds = () => Math.floor(nowMs / 1000);
/** ECDSA signatures are randomised: memoise so one (key, iat) is one token, as a real provider reuses it. */
const tokens = new Map<string, string>();
function bearer(k: TestSigningKey = key, iat = seconds()): string {
  const id = `${k.keyId}:${k.publicKeyPem}:${iat}`;
  let token = tokens.get(id);
  if (token === undefined) {
    token = `bearer ${signProviderToken(k, { iat })}`;
    tokens.set(id, token);
  }
  return token;
}

function send(input: PushInput & { auth?: string | undefined } = {}, on = session): Promise<PushAnswer> {
  const { auth, ...rest } = input;
  return push(on, {
    token: DEVICE,
    ...rest,
    headers: {
      authorization: 'auth' in input ? auth : bearer(),
      'apns-topic': TOPIC,
      'apns-push-type': 'alert',
      ...rest.headers,
    },
  });
}

function expectRejection(answer: PushAnswer, status: number, reason: string): void {
  expect({ status: answer.status, reason: answer.body?.reason }).toEqual({ status, reason });
  expect(answer.headers['content-type']).toBe('application/json');
  expect(answer.headers['apns-id']).toMatch(/^[0-9a-f-]{36}$/);
}

beforeAll(async () => {
  key = generateSigningKey({ teamId: 'TEAM000001', keyId: 'KEY0000001' });
  otherTeamKey = generateSigningKey({ teamId: 'TEAM000002', keyId: 'KEY0000002' });
  server = await startMockApnsServer({
    now: () => nowMs,
    signingKeys: [
      { teamId: key.teamId, keyId: key.keyId, publicKeyPem: key.publicKeyPem },
      { teamId: otherTeamKey.teamId, keyId: otherTeamKey.keyId, publicKeyPem: otherTeamKey.publicKeyPem },
    ],
  });
  server.registerDevice(DEVICE, { topic: TOPIC });
  server.registerDevice(SANDBOX_DEVICE, { topic: TOPIC, environment: 'sandbox' });
  server.registerDevice(OTHER_APP_DEVICE, { topic: 'com.example.other' });
  server.registerDevice(GONE_DEVICE, { topic: TOPIC });
  server.unregisterDevice(GONE_DEVICE, GONE_AT);
  server.registerDevice(EXPIRED_DEVICE, { topic: TOPIC });
  server.unregisterDevice(EXPIRED_DEVICE, GONE_AT, 'ExpiredToken');
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  nowMs = START;
  session = connect(server.url, { ca: server.caPem });
});

afterEach(async () => {
  await closeSession(session);
  server.resetRecords();
});

describe('acceptance', () => {
  it('answers 200 with the echoed apns-id and records the notification', async () => {
    const apnsId = randomUUID();
    const answer = await send({
      headers: {
        'apns-id': apnsId,
        'apns-priority': '5',
        'apns-expiration': '1767225600',
        'apns-collapse-id': 'c1',
      },
      body: '{"aps":{"alert":"hi"}}',
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['apns-id']).toBe(apnsId);
    expect(answer.rawBody).toBe('');
    expect(answer.headers['apns-unique-id']).toBeUndefined();
    expect(server.accepted).toHaveLength(1);
    const recorded = server.accepted[0]!;
    expect(recorded).toMatchObject({
      apnsId,
      token: DEVICE,
      topic: TOPIC,
      pushType: 'alert',
      priority: 5,
      expiration: 1767225600,
      collapseId: 'c1',
      at: START,
    });
    expect(recorded.payload.toString()).toBe('{"aps":{"alert":"hi"}}');
    expect(server.acceptanceCount(apnsId)).toBe(1);
  });

  it('generates an apns-id when none is sent', async () => {
    const answer = await send();
    expect(answer.status).toBe(200);
    expect(answer.headers['apns-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(server.accepted[0]?.apnsId).toBe(answer.headers['apns-id']);
  });

  it('accepts a raw 64-byte R||S signature and a DER signature', async () => {
    const raw = signProviderToken(key, { iat: seconds(), signatureEncoding: 'raw' });
    const der = signProviderToken(key, { iat: seconds(), signatureEncoding: 'der' });
    expect(Buffer.from(raw.split('.')[2]!, 'base64url')).toHaveLength(64);
    expect(Buffer.from(der.split('.')[2]!, 'base64url')[0]).toBe(0x30);
    expect((await send({ auth: `bearer ${raw}` })).status).toBe(200);
    const second = connect(server.url, { ca: server.caPem });
    try {
      expect((await send({ auth: `bearer ${der}` }, second)).status).toBe(200);
    } finally {
      await closeSession(second);
    }
  });

  it('infers the push type from the topic when apns-push-type is absent', async () => {
    const answer = await send({ headers: { 'apns-push-type': undefined, 'apns-topic': `${TOPIC}.voip` } });
    expect(answer.status).toBe(200);
    expect(server.accepted[0]?.pushType).toBe('voip');
  });
});

describe('method and path', () => {
  it('405 MethodNotAllowed for GET', async () => {
    expectRejection(await send({ method: 'GET', body: '' }), 405, 'MethodNotAllowed');
  });

  it('404 BadPath for another path', async () => {
    expectRejection(await send({ path: `/3/devices/${DEVICE}` }), 404, 'BadPath');
    expectRejection(await send({ path: `/2/device/${DEVICE}` }), 404, 'BadPath');
  });

  it('400 MissingDeviceToken for /3/device/', async () => {
    expectRejection(await send({ path: '/3/device/' }), 400, 'MissingDeviceToken');
  });

  it('400 BadDeviceToken for a token that is not hex or too short', async () => {
    expectRejection(await send({ token: 'zz'.repeat(32) }), 400, 'BadDeviceToken');
    expectRejection(await send({ token: 'ab'.repeat(10) }), 400, 'BadDeviceToken');
  });
});

describe('provider token', () => {
  it('403 MissingProviderToken without authorization, empty, or not bearer', async () => {
    expectRejection(await send({ auth: undefined }), 403, 'MissingProviderToken');
    expectRejection(await send({ auth: '' }), 403, 'MissingProviderToken');
    expectRejection(
      await send({ auth: `basic ${signProviderToken(key, { iat: seconds() })}` }),
      403,
      'MissingProviderToken',
    );
  });

  it('403 InvalidProviderToken for a malformed token', async () => {
    expectRejection(await send({ auth: 'bearer not-a-jwt' }), 403, 'InvalidProviderToken');
    expectRejection(await send({ auth: 'bearer a.b.c' }), 403, 'InvalidProviderToken');
  });

  it('403 InvalidProviderToken when alg is not ES256', async () => {
    const token = signProviderToken(key, { iat: seconds(), header: { alg: 'ES384', kid: key.keyId } });
    expectRejection(await send({ auth: `bearer ${token}` }), 403, 'InvalidProviderToken');
    const none = signProviderToken(key, { iat: seconds(), header: { alg: 'none', kid: key.keyId } });
    expectRejection(await send({ auth: `bearer ${none}` }), 403, 'InvalidProviderToken');
  });

  it('403 InvalidProviderToken for an unknown key id', async () => {
    const stranger = generateSigningKey({ teamId: key.teamId, keyId: 'UNKNOWN001' });
    expectRejection(await send({ auth: bearer(stranger) }), 403, 'InvalidProviderToken');
  });

  it("403 InvalidProviderToken when iss is not the key's team", async () => {
    const token = signProviderToken(key, { iat: seconds(), claims: { iss: 'TEAM999999', iat: seconds() } });
    expectRejection(await send({ auth: `bearer ${token}` }), 403, 'InvalidProviderToken');
  });

  it('403 InvalidProviderToken for a signature by another key', async () => {
    const impostor = { ...generateSigningKey({ teamId: key.teamId, keyId: key.keyId }) };
    expectRejection(await send({ auth: bearer(impostor) }), 403, 'InvalidProviderToken');
  });

  it('403 InvalidProviderToken when iat is not integer seconds', async () => {
    const ms = signProviderToken(key, { iat: 0, claims: { iss: key.teamId, iat: String(nowMs) } });
    expectRejection(await send({ auth: `bearer ${ms}` }), 403, 'InvalidProviderToken');
  });

  it('403 InvalidProviderToken when iat is in the future beyond the skew', async () => {
    expectRejection(await send({ auth: bearer(key, seconds() + 600) }), 403, 'InvalidProviderToken');
  });

  it('403 ExpiredProviderToken when iat is more than an hour old', async () => {
    expectRejection(await send({ auth: bearer(key, seconds() - 3601) }), 403, 'ExpiredProviderToken');
  });

  it('expires a token that was valid when first used, by the server clock', async () => {
    const token = bearer();
    expect((await send({ auth: token })).status).toBe(200);
    nowMs += 3601_000;
    expectRejection(await send({ auth: token }), 403, 'ExpiredProviderToken');
  });

  it('429 TooManyProviderTokenUpdates for a new token within 20 minutes on one connection', async () => {
    expect((await send({ auth: bearer(key, seconds()) })).status).toBe(200);
    nowMs += 10 * 60_000;
    expectRejection(await send({ auth: bearer(key, seconds()) }), 429, 'TooManyProviderTokenUpdates');
    nowMs += 10 * 60_000;
    expect((await send({ auth: bearer(key, seconds()) })).status).toBe(200);
    expect(server.stats.distinctIats.size).toBe(3);
  });

  it('binds the team of the first push to the connection', async () => {
    expect((await send()).status).toBe(200);
    nowMs += 21 * 60_000;
    expectRejection(await send({ auth: bearer(otherTeamKey) }), 403, 'InvalidProviderToken');
    const fresh = connect(server.url, { ca: server.caPem });
    try {
      server.registerDevice('ab'.repeat(33), { topic: TOPIC });
      expect((await send({ auth: bearer(otherTeamKey), token: 'ab'.repeat(33) }, fresh)).status).toBe(200);
    } finally {
      await closeSession(fresh);
    }
  });

  it('403 InvalidProviderToken when the key does not cover the topic', async () => {
    const scoped = generateSigningKey({ teamId: 'TEAM000003', keyId: 'KEY0000003' });
    server.addSigningKey({ ...scoped, topics: ['com.example.other'] });
    try {
      expectRejection(await send({ auth: bearer(scoped) }), 403, 'InvalidProviderToken');
    } finally {
      server.removeSigningKey(scoped.keyId);
    }
  });

  it('403 BadEnvironmentKeyIdInToken for a key scoped to the other environment', async () => {
    const sandboxOnly = generateSigningKey({ teamId: key.teamId, keyId: 'KEY0000004' });
    server.addSigningKey({ ...sandboxOnly, environments: ['sandbox'] });
    try {
      expectRejection(await send({ auth: bearer(sandboxOnly) }), 403, 'BadEnvironmentKeyIdInToken');
    } finally {
      server.removeSigningKey(sandboxOnly.keyId);
    }
  });

  it('403 UnrelatedKeyIdInToken for a topic-specific key after another key on the connection', async () => {
    const topicKey = generateSigningKey({ teamId: key.teamId, keyId: 'KEY0000005' });
    server.addSigningKey({ ...topicKey, topics: [TOPIC] });
    try {
      expect((await send()).status).toBe(200);
      expectRejection(await send({ auth: bearer(topicKey) }), 403, 'UnrelatedKeyIdInToken');
      const fresh = connect(server.url, { ca: server.caPem });
      try {
        expect((await send({ auth: bearer(topicKey) }, fresh)).status).toBe(200);
        expectRejection(await send({ auth: bearer(key) }, fresh), 403, 'UnrelatedKeyIdInToken');
      } finally {
        await closeSession(fresh);
      }
    } finally {
      server.removeSigningKey(topicKey.keyId);
    }
  });

  it('lets two team-scoped keys of one team share a connection', async () => {
    const sibling = generateSigningKey({ teamId: key.teamId, keyId: 'KEY0000006' });
    server.addSigningKey(sibling);
    try {
      expect((await send()).status).toBe(200);
      nowMs += 21 * 60_000;
      expect((await send({ auth: bearer(sibling) })).status).toBe(200);
    } finally {
      server.removeSigningKey(sibling.keyId);
    }
  });

  it('authenticates before looking at device state', async () => {
    expectRejection(await send({ token: GONE_DEVICE, auth: undefined }), 403, 'MissingProviderToken');
  });
});

describe('headers', () => {
  it('400 DuplicateHeaders for a repeated apns header', async () => {
    expectRejection(await send({ headers: { 'apns-collapse-id': ['a', 'b'] } }), 400, 'DuplicateHeaders');
    expectRejection(await send({ headers: { 'apns-topic': [TOPIC, TOPIC] } }), 400, 'DuplicateHeaders');
  });

  it('400 BadMessageId for an apns-id that is not a canonical lower-case UUID', async () => {
    expectRejection(await send({ headers: { 'apns-id': randomUUID().toUpperCase() } }), 400, 'BadMessageId');
    expectRejection(await send({ headers: { 'apns-id': 'not-a-uuid' } }), 400, 'BadMessageId');
  });

  it('400 InvalidPushType for an unknown push type', async () => {
    expectRejection(await send({ headers: { 'apns-push-type': 'sms' } }), 400, 'InvalidPushType');
  });

  it('400 BadPriority for a priority other than 1, 5, 10', async () => {
    expectRejection(await send({ headers: { 'apns-priority': '7' } }), 400, 'BadPriority');
    expectRejection(await send({ headers: { 'apns-priority': 'high' } }), 400, 'BadPriority');
  });

  it('400 BadPriority for a background push with priority 10', async () => {
    const background = { 'apns-push-type': 'background', 'apns-priority': '10' };
    expectRejection(
      await send({ headers: background, body: '{"aps":{"content-available":1}}' }),
      400,
      'BadPriority',
    );
    const ok = await send({
      headers: { ...background, 'apns-priority': '5' },
      body: '{"aps":{"content-available":1}}',
    });
    expect(ok.status).toBe(200);
  });

  it('400 BadExpirationDate for an expiration that is not epoch seconds', async () => {
    for (const value of ['tomorrow', '-1', '1.5', '99999999999']) {
      expectRejection(await send({ headers: { 'apns-expiration': value } }), 400, 'BadExpirationDate');
    }
    expect((await send({ headers: { 'apns-expiration': '0' } })).status).toBe(200);
  });

  it('400 BadCollapseId for a collapse id over 64 bytes (bytes, not characters)', async () => {
    expect((await send({ headers: { 'apns-collapse-id': 'x'.repeat(64) } })).status).toBe(200);
    expectRejection(await send({ headers: { 'apns-collapse-id': 'x'.repeat(65) } }), 400, 'BadCollapseId');
    // Header values travel as bytes; node's client writes a string's chars as latin1, so the UTF-8
    // bytes are passed that way, as any non-node client would put them on the wire.
    const utf8OnTheWire = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
    // 22 three-byte characters: 66 bytes; 21 of them: 63 bytes.
    expectRejection(
      await send({ headers: { 'apns-collapse-id': utf8OnTheWire('€'.repeat(22)) } }),
      400,
      'BadCollapseId',
    );
    expect((await send({ headers: { 'apns-collapse-id': utf8OnTheWire('€'.repeat(21)) } })).status).toBe(200);
    expect(server.accepted.at(-1)?.collapseId).toBe('€'.repeat(21));
  });

  it('400 MissingTopic without apns-topic under token auth', async () => {
    expectRejection(await send({ headers: { 'apns-topic': undefined } }), 400, 'MissingTopic');
  });

  it('400 BadTopic when the topic suffix does not match the push type', async () => {
    expectRejection(await send({ headers: { 'apns-push-type': 'voip' } }), 400, 'BadTopic');
    expectRejection(await send({ headers: { 'apns-topic': `${TOPIC}.voip` } }), 400, 'BadTopic');
    expectRejection(
      await send({
        headers: { 'apns-push-type': 'liveactivity', 'apns-topic': `${TOPIC}.push-type.widgets` },
      }),
      400,
      'BadTopic',
    );
    const live = await send({
      headers: { 'apns-push-type': 'liveactivity', 'apns-topic': `${TOPIC}.push-type.liveactivity` },
    });
    expect(live.status).toBe(200);
  });
});

describe('payload', () => {
  it('400 PayloadEmpty for an empty body', async () => {
    expectRejection(await send({ body: '' }), 400, 'PayloadEmpty');
  });

  it('400 PayloadEmpty for a body that is not a JSON object (our documented choice)', async () => {
    expectRejection(await send({ body: '{"aps":' }), 400, 'PayloadEmpty');
    expectRejection(await send({ body: '[1,2]' }), 400, 'PayloadEmpty');
  });

  it('413 PayloadTooLarge over 4096 bytes, 5120 for voip', async () => {
    const body = (size: number) => `{"aps":{},"x":"${'y'.repeat(size - 17)}"}`;
    expect(body(4096)).toHaveLength(4096);
    expect((await send({ body: body(4096) })).status).toBe(200);
    expectRejection(await send({ body: body(4097) }), 413, 'PayloadTooLarge');
    const voip = { 'apns-push-type': 'voip', 'apns-topic': `${TOPIC}.voip` };
    expect((await send({ headers: voip, body: body(5120) })).status).toBe(200);
    expectRejection(await send({ headers: voip, body: body(5121) }), 413, 'PayloadTooLarge');
  });
});

describe('device state', () => {
  it('400 BadDeviceToken for an unknown token', async () => {
    expectRejection(await send({ token: '99'.repeat(32) }), 400, 'BadDeviceToken');
  });

  it('400 BadDeviceToken for a token of the other environment', async () => {
    expectRejection(await send({ token: SANDBOX_DEVICE }), 400, 'BadDeviceToken');
  });

  it('400 DeviceTokenNotForTopic for a token of another app', async () => {
    expectRejection(await send({ token: OTHER_APP_DEVICE }), 400, 'DeviceTokenNotForTopic');
  });

  it('410 Unregistered with the timestamp in milliseconds', async () => {
    const answer = await send({ token: GONE_DEVICE });
    expectRejection(answer, 410, 'Unregistered');
    expect(answer.body).toEqual({ reason: 'Unregistered', timestamp: GONE_AT });
    expect(server.rejections.at(-1)).toMatchObject({ token: GONE_DEVICE, status: 410, timestampMs: GONE_AT });
  });

  it('410 ExpiredToken when unregistered with that reason', async () => {
    const answer = await send({ token: EXPIRED_DEVICE });
    expect(answer.body).toEqual({ reason: 'ExpiredToken', timestamp: GONE_AT });
  });

  it('accepts an upper-case token in the path as the same device', async () => {
    expect((await send({ token: DEVICE.toUpperCase() })).status).toBe(200);
  });
});
