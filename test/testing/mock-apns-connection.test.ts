/** Transport and lifecycle of the mock: ALPN, stream limits, recording, modes, hooks, close. */
import { randomUUID } from 'node:crypto';
import type http2 from 'node:http2';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  type MockApnsServer,
  type MockApnsServerOptions,
  signProviderToken,
  startMockApnsServer,
} from '../../src/testing/index.ts';
import { closeSession, connect, type PushAnswer, push } from './support/h2-client.ts';

const TOPIC = 'com.example.app';
const DEVICE = 'ab'.repeat(32);
const key = generateSigningKey({ teamId: 'TEAM000001', keyId: 'KEY0000001' });
const jwt = signProviderToken(key, { iat: Math.floor(Date.now() / 1000) });

let server: MockApnsServer | undefined;
const sessions: http2.ClientHttp2Session[] = [];

async function start(options: MockApnsServerOptions = {}): Promise<MockApnsServer> {
  server = await startMockApnsServer({ signingKeys: [key], ...options });
  server.registerDevice(DEVICE, {
    topic: TOPIC,
    ...(options.environment ? { environment: options.environment } : {}),
  });
  return server;
}

function open(mock: MockApnsServer, priorKnowledge = false): http2.ClientHttp2Session {
  const session = connect(mock.url, { ca: mock.caPem, priorKnowledge });
  sessions.push(session);
  return session;
}

function send(
  session: http2.ClientHttp2Session,
  headers: Record<string, string | undefined> = {},
  token = DEVICE,
): Promise<PushAnswer> {
  return push(session, {
    token,
    headers: { authorization: `bearer ${jwt}`, 'apns-topic': TOPIC, 'apns-push-type': 'alert', ...headers },
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never reached: ${what}`);
}

afterEach(async () => {
  await Promise.all(sessions.splice(0).map(closeSession));
  await server?.close();
  server = undefined;
});

describe('TLS and ALPN', () => {
  it('serves h2 negotiated by ALPN', async () => {
    const mock = await start();
    const session = open(mock);
    expect((await send(session)).status).toBe(200);
    expect((session.socket as tls.TLSSocket).alpnProtocol).toBe('h2');
  });

  it('serves HTTP/2 with prior knowledge (no ALPN offered)', async () => {
    const mock = await start();
    const session = open(mock, true);
    expect((await send(session)).status).toBe(200);
    expect((session.socket as tls.TLSSocket).alpnProtocol).toBe(false);
  });

  it('refuses a client that offers only http/1.1', async () => {
    const mock = await start();
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: mock.port,
        ca: mock.caPem,
        ALPNProtocols: ['http/1.1'],
      });
      socket.on('secureConnect', () => {
        socket.destroy();
        resolve(`connected with ${String(socket.alpnProtocol)}`);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(outcome).toMatch(/ALPN|NO_APPLICATION_PROTOCOL/i);
  });
});

describe('MAX_CONCURRENT_STREAMS', () => {
  it('advertises 1 until a request authenticates, then the configured limit', async () => {
    const mock = await start({ maxConcurrentStreams: 250 });
    const session = open(mock);
    await until(() => session.remoteSettings.maxConcurrentStreams === 1, 'initial settings');
    expect((await send(session, { authorization: undefined })).status).toBe(403);
    expect(mock.stats.advertisedLimitByConnection.get(1)).toBe(1);
    // Authenticated, though rejected for the device: Apple lifts the limit once a token is valid.
    expect((await send(session, {}, '99'.repeat(32))).body?.reason).toBe('BadDeviceToken');
    await until(() => session.remoteSettings.maxConcurrentStreams === 250, 'raised limit');
    expect(mock.stats.advertisedLimitByConnection.get(1)).toBe(250);
  });

  it('counts the streams open at once on each connection', async () => {
    const mock = await start();
    const session = open(mock);
    expect((await send(session)).status).toBe(200);
    await until(() => session.remoteSettings.maxConcurrentStreams === 1000, 'raised limit');
    mock.setFaults({ neverRespondRate: 1 });
    const pending = Array.from({ length: 10 }, () => send(session).catch(() => undefined));
    await until(() => mock.stats.unansweredStreams === 10, 'ten open streams');
    expect(mock.stats.maxConcurrencyByConnection.get(1)).toBe(10);
    expect(mock.stats.maxObservedConcurrency).toBe(10);
    await mock.close();
    await Promise.all(pending);
  });
});

describe('responses and records', () => {
  it('adds a distinct apns-unique-id in the sandbox environment', async () => {
    const mock = await start({ environment: 'sandbox' });
    const answer = await send(open(mock));
    expect(answer.status).toBe(200);
    const uniqueId = answer.headers['apns-unique-id'];
    expect(uniqueId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(uniqueId).not.toBe(answer.headers['apns-id']);
  });

  it('counts acceptances per apns-id, waits for them, and resets', async () => {
    const mock = await start();
    const session = open(mock);
    const apnsId = randomUUID();
    const waiting = mock.waitForAccepted(2);
    expect((await send(session, { 'apns-id': apnsId })).status).toBe(200);
    expect((await send(session, { 'apns-id': apnsId })).status).toBe(200);
    await waiting;
    expect(mock.acceptanceCount(apnsId)).toBe(2);
    expect(mock.accepted.map((n) => n.apnsId)).toEqual([apnsId, apnsId]);
    await send(session, { 'apns-priority': '3' });
    expect(mock.rejections).toMatchObject([
      { status: 400, reason: 'BadPriority', token: DEVICE, connectionId: 1 },
    ]);
    mock.resetRecords();
    expect([
      mock.accepted.length,
      mock.rejections.length,
      mock.acceptedCount,
      mock.acceptanceCount(apnsId),
    ]).toEqual([0, 0, 0, 0]);
  });

  it('rejects waitForAccepted after its timeout', async () => {
    const mock = await start();
    await expect(mock.waitForAccepted(1, 20)).rejects.toThrow(/0 of 1/);
  });
});

describe('accept-all mode', () => {
  it('answers 200 to anything and only counts', async () => {
    const mock = await start({ mode: 'accept-all' });
    const session = open(mock);
    const apnsId = randomUUID();
    const answer = await send(
      session,
      { authorization: undefined, 'apns-id': apnsId, 'apns-priority': '3' },
      'zz',
    );
    expect(answer.status).toBe(200);
    expect(answer.headers['apns-id']).toBe(apnsId);
    await mock.waitForAccepted(1);
    expect(mock.acceptedCount).toBe(1);
    // Nothing kept per request: a sink of millions stays flat in memory.
    expect(mock.acceptanceCount(apnsId)).toBe(0);
    expect(mock.accepted).toEqual([]);
  });

  it('keeps per-apns-id counts when asked to record', async () => {
    const mock = await start({ mode: 'accept-all', recordAccepted: true });
    const session = open(mock);
    const apnsId = randomUUID();
    const answer = await send(session, { 'apns-id': apnsId }, '{}');
    expect(answer.status).toBe(200);
    await mock.waitForAccepted(1);
    expect(mock.acceptanceCount(apnsId)).toBe(1);
  });

  it('records arrival time and headers when asked to (latency benchmarks), never the payload', async () => {
    const mock = await start({ mode: 'accept-all', recordAccepted: true });
    const session = open(mock);
    const apnsId = randomUUID();
    const before = Date.now();
    expect((await send(session, { 'apns-id': apnsId })).status).toBe(200);
    expect(mock.accepted).toHaveLength(1);
    const record = mock.accepted[0]!;
    expect(record).toMatchObject({ apnsId, token: DEVICE, connectionId: 1 });
    expect(record.at).toBeGreaterThanOrEqual(before);
    expect(record.at).toBeLessThanOrEqual(Date.now());
    expect(record.payload.length).toBe(0);
  });
});

describe('respondWith', () => {
  it('replaces validation while it returns a response, and validates when it returns undefined', async () => {
    const mock = await start();
    const session = open(mock);
    let calls = 0;
    mock.respondWith((request) => {
      calls++;
      expect(request).toMatchObject({ method: 'POST', token: DEVICE, connectionId: 1 });
      expect(request.payload.toString()).toContain('aps');
      return calls === 1 ? { status: 500, reason: 'InternalServerError' } : undefined;
    });
    const first = await send(session);
    expect({ status: first.status, body: first.body }).toEqual({
      status: 500,
      body: { reason: 'InternalServerError' },
    });
    expect((await send(session, { 'apns-priority': '3' })).body?.reason).toBe('BadPriority');
    expect((await send(session)).status).toBe(200);
    mock.respondWith(undefined);
    expect(mock.rejections.map((r) => r.reason)).toEqual(['InternalServerError', 'BadPriority']);
  });
});

describe('connection control and lifecycle', () => {
  it('goAwayAll sends GOAWAY with a JSON reason to every connection', async () => {
    const mock = await start();
    const session = open(mock);
    expect((await send(session)).status).toBe(200);
    const goAway = new Promise<string>((resolve) =>
      session.once('goaway', (_code, _last, data) => resolve(String(data))),
    );
    mock.goAwayAll({ reason: 'Shutdown' });
    expect(await goAway).toBe('{"reason":"Shutdown"}');
    await until(() => mock.openConnections === 0, 'connections closed');
  });

  it('closes an idle connection with GOAWAY IdleTimeout when idleTimeoutMs is set', async () => {
    const mock = await start({ idleTimeoutMs: 50 });
    const session = open(mock);
    const goAway = new Promise<string>((resolve) =>
      session.once('goaway', (_code, _last, data) => resolve(String(data))),
    );
    expect((await send(session)).status).toBe(200);
    expect(await goAway).toBe('{"reason":"IdleTimeout"}');
  });

  it('destroyConnections cuts every connection', async () => {
    const mock = await start();
    const session = open(mock);
    expect((await send(session)).status).toBe(200);
    const closed = new Promise((resolve) => session.once('close', resolve));
    mock.destroyConnections();
    await closed;
    expect(mock.stats.sessionsDestroyed).toBe(1);
  });

  it('destroy() cuts connections with streams still open and stops', async () => {
    const mock = await start({ faults: { neverRespondRate: 1 } });
    const session = open(mock);
    const pending = send(session);
    await until(() => mock.stats.unansweredStreams === 1, 'stream swallowed');
    await mock.destroy();
    await expect(pending).rejects.toThrow();
    expect(mock.openConnections).toBe(0);
  });

  it('close() is idempotent, closes open connections and stops listening', async () => {
    const mock = await start();
    const session = open(mock);
    expect((await send(session)).status).toBe(200);
    const closed = new Promise((resolve) => session.once('close', resolve));
    const first = mock.close();
    expect(mock.close()).toBe(first);
    await first;
    await closed;
    const refused = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: mock.port, ca: mock.caPem });
      socket.on('secureConnect', () => resolve('connected'));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
