/** Each fault of the mock APNs server, shown to work over real TLS + HTTP/2. */
import type http2 from 'node:http2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/testing/fault-random.ts';
import {
  generateSigningKey,
  type MockApnsServer,
  type MockApnsServerOptions,
  signProviderToken,
  startMockApnsServer,
} from '../../src/testing/index.ts';
import { closeSession, connect, type PushAnswer, push } from './support/h2-client.ts';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const TOPIC = 'com.example.app';
const DEVICE = 'ab'.repeat(32);
const key = generateSigningKey({ teamId: 'TEAM000001', keyId: 'KEY0000001' });

let nowMs = START;
let server: MockApnsServer;
let jwt: string;
const sessions: http2.ClientHttp2Session[] = [];

async function start(options: MockApnsServerOptions = {}): Promise<MockApnsServer> {
  server = await startMockApnsServer({ now: () => nowMs, signingKeys: [key], ...options });
  server.registerDevice(DEVICE, { topic: TOPIC });
  return server;
}

function open(): http2.ClientHttp2Session {
  const session = connect(server.url, { ca: server.caPem });
  sessions.push(session);
  return session;
}

function send(session: http2.ClientHttp2Session, headers: Record<string, string> = {}): Promise<PushAnswer> {
  return push(session, {
    token: DEVICE,
    headers: { authorization: `bearer ${jwt}`, 'apns-topic': TOPIC, 'apns-push-type': 'alert', ...headers },
  });
}

/** Polls a condition the server reaches asynchronously; fails the test if it never does. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never reached: ${what}`);
}

function goAwayOf(
  session: http2.ClientHttp2Session,
): Promise<{ code: number; lastStreamId: number; debug: string }> {
  return new Promise((resolve) =>
    session.once('goaway', (code, lastStreamId, data) =>
      resolve({ code, lastStreamId, debug: data?.toString('utf8') ?? '' }),
    ),
  );
}

beforeEach(() => {
  nowMs = START;
  jwt = signProviderToken(key, { iat: Math.floor(START / 1000) });
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map(closeSession));
  await server.close();
});

describe('goAwayAfterStreams', () => {
  it('sends GOAWAY after N streams with the debug data and the chosen last-stream-id', async () => {
    await start({ faults: { goAwayAfterStreams: { every: 3, debug: '{"reason":"Shutdown"}' } } });
    const session = open();
    const goAway = goAwayOf(session);
    expect((await send(session)).status).toBe(200);
    expect((await send(session)).status).toBe(200);
    expect((await send(session)).status).toBe(200);
    expect(await goAway).toEqual({ code: 0, lastStreamId: 5, debug: '{"reason":"Shutdown"}' });
    expect(server.stats.goAwaysSent).toBe(1);
    const next = open();
    expect((await send(next)).status).toBe(200);
  });

  it('answers the streams up to last-stream-id and refuses those above it', async () => {
    await start({
      initialMaxConcurrentStreams: 100,
      faults: { goAwayAfterStreams: { every: 3, lastStreamIdBehind: 2 } },
    });
    const session = open();
    const goAway = goAwayOf(session);
    // Streams 1, 3, 5, 7: the third (5) triggers GOAWAY with last-stream-id 3.
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map(() =>
        send(session).then(
          (answer) => answer.status,
          (error: Error) => (/REFUSED_STREAM/.test(error.message) ? 'refused' : error.message),
        ),
      ),
    );
    expect(outcomes).toEqual([200, 200, 'refused', 'refused']);
    expect((await goAway).lastStreamId).toBe(3);
    expect(server.acceptedCount).toBe(2);
  });
});

describe('goAwayOnFirstRequest', () => {
  it('answers the first request with GOAWAY last-stream-id 0 and a JSON reason', async () => {
    await start({ faults: { goAwayOnFirstRequest: { reason: 'BadCertificateEnvironment' } } });
    const session = open();
    const goAway = goAwayOf(session);
    await expect(send(session)).rejects.toThrow();
    expect(await goAway).toEqual({
      code: 0,
      lastStreamId: 0,
      debug: '{"reason":"BadCertificateEnvironment"}',
    });
    expect(server.acceptedCount).toBe(0);
  });

  it('answers the first request when the chosen last-stream-id covers it', async () => {
    await start({ faults: { goAwayOnFirstRequest: { reason: 'Shutdown', lastStreamId: 1 } } });
    const session = open();
    const goAway = goAwayOf(session);
    expect((await send(session)).status).toBe(200);
    expect(await goAway).toEqual({ code: 0, lastStreamId: 1, debug: '{"reason":"Shutdown"}' });
  });
});

describe('destroySessionRate', () => {
  it('cuts the connection instead of answering', async () => {
    await start({ faults: { destroySessionRate: 1 } });
    const session = open();
    await expect(send(session)).rejects.toThrow();
    expect(server.stats.sessionsDestroyed).toBe(1);
    expect(server.acceptedCount).toBe(0);
  });

  it('follows the seeded PRNG: the same seed gives the same pattern', async () => {
    const pattern = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 20 }, () => random() < 0.5);
    };
    expect(pattern(7)).toEqual(pattern(7));
    expect(pattern(7)).not.toEqual(pattern(8));
    await start({ faults: { destroySessionRate: 0.5, faultSeed: 7 } });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await send(open()).then(
        () => true,
        () => false,
      );
      outcomes.push(!answer);
    }
    expect(outcomes).toEqual(pattern(7).slice(0, 6));
  });
});

describe('neverRespondRate', () => {
  it('leaves the stream unanswered while later streams are answered, until the server closes', async () => {
    await start({ initialMaxConcurrentStreams: 10, faults: { neverRespondRate: 1 } });
    const session = open();
    let settled = false;
    const first = send(session).finally(() => {
      settled = true;
    });
    first.catch(() => {});
    await until(() => server.stats.unansweredStreams === 1, 'first request swallowed');
    server.setFaults({});
    expect((await send(session)).status).toBe(200);
    expect(settled).toBe(false);
    await server.close();
    await expect(first).rejects.toThrow();
  });
});

describe('delayMs', () => {
  it('holds each answer back', async () => {
    await start({ faults: { delayMs: { min: 300, max: 300 } } });
    const session = open();
    const answer = send(session);
    await until(() => server.stats.requests === 1, 'request seen');
    expect(server.acceptedCount).toBe(0);
    expect((await answer).status).toBe(200);
    expect(server.acceptedCount).toBe(1);
  });
});

describe('statusWindow', () => {
  it('answers 503 with retry-after until the window ends on the server clock', async () => {
    await start({
      faults: {
        statusWindow: {
          status: 503,
          reason: 'ServiceUnavailable',
          retryAfterSeconds: 30,
          untilMs: START + 60_000,
        },
      },
    });
    const session = open();
    const during = await send(session);
    expect({ status: during.status, reason: during.body?.reason }).toEqual({
      status: 503,
      reason: 'ServiceUnavailable',
    });
    expect(during.headers['retry-after']).toBe('30');
    expect(server.rejections.at(-1)).toMatchObject({ status: 503, reason: 'ServiceUnavailable' });
    nowMs = START + 60_000;
    expect((await send(session)).status).toBe(200);
  });

  it('answers 429 TooManyRequests and 500 InternalServerError', async () => {
    await start({ faults: { statusWindow: { status: 429, reason: 'TooManyRequests', untilMs: START + 1 } } });
    const session = open();
    const throttled = await send(session);
    expect({ status: throttled.status, reason: throttled.body?.reason }).toEqual({
      status: 429,
      reason: 'TooManyRequests',
    });
    expect(throttled.headers['retry-after']).toBeUndefined();
    server.setFaults({ statusWindow: { status: 500, reason: 'InternalServerError', untilMs: START + 1 } });
    expect((await send(session)).body?.reason).toBe('InternalServerError');
  });
});

describe('dropStreamLimitAfterRejection', () => {
  it('advertises one stream after a rejection and restores the limit after the next success', async () => {
    await start({ maxConcurrentStreams: 500, faults: { dropStreamLimitAfterRejection: true } });
    const session = open();
    const limit = () => session.remoteSettings.maxConcurrentStreams;
    expect((await send(session)).status).toBe(200);
    await until(() => limit() === 500, 'limit raised after the first authenticated request');
    expect((await send(session, { 'apns-priority': '7' })).status).toBe(400);
    await until(() => limit() === 1, 'limit dropped after a rejection');
    expect(server.stats.advertisedLimitByConnection.get(1)).toBe(1);
    expect((await send(session)).status).toBe(200);
    await until(() => limit() === 500, 'limit restored after a success');
  });
});

describe('ignorePings', () => {
  async function pinged(session: http2.ClientHttp2Session): Promise<{ acked: () => boolean }> {
    // A PING before the session is connected is cancelled by node, so wait for it.
    if (session.connecting) await new Promise((resolve) => session.once('connect', resolve));
    let acked = false;
    session.ping((error) => {
      acked = error === null;
    });
    return { acked: () => acked };
  }

  it('answers PINGs normally', async () => {
    await start();
    const session = open();
    const ping = await pinged(session);
    expect((await send(session)).status).toBe(200);
    await until(ping.acked, 'ping acknowledged');
    expect(server.stats.pingsAnswered).toBe(1);
  });

  it('never acknowledges PINGs on connections opened while set, yet answers requests', async () => {
    await start({ faults: { ignorePings: true } });
    const session = open();
    const ping = await pinged(session);
    // Frames are handled in order: an ACK for the PING would arrive before this response.
    expect((await send(session)).status).toBe(200);
    expect(ping.acked()).toBe(false);
    expect(server.stats.pingsIgnored).toBe(1);
    expect(server.stats.pingsAnswered).toBe(0);
  });
});
