/** The mock in certificate mode: topics and environment come from the TLS client certificate. */
import { X509Certificate } from 'node:crypto';
import type http2 from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readProviderCertificate } from '../../src/testing/client-certificate.ts';
import {
  createTestPki,
  type MockApnsServer,
  startMockApnsServer,
  type TestPki,
} from '../../src/testing/index.ts';
import { closeSession, connect, type PushAnswer, type PushInput, push } from './support/h2-client.ts';

const BUNDLE = 'com.example.app';
const DEVICE = 'ab'.repeat(32);
const GONE_DEVICE = '01'.repeat(32);

let pki: TestPki;
let server: MockApnsServer;
let singleTopic: { certPem: string; keyPem: string };
let multiTopic: { certPem: string; keyPem: string };
const sessions: http2.ClientHttp2Session[] = [];

function open(cert: { certPem: string; keyPem: string } | undefined): http2.ClientHttp2Session {
  const session = connect(server.url, { ca: server.caPem, ...(cert === undefined ? {} : { cert }) });
  sessions.push(session);
  return session;
}

function send(session: http2.ClientHttp2Session, input: PushInput = {}): Promise<PushAnswer> {
  return push(session, { token: DEVICE, ...input });
}

function outcome(answer: PushAnswer): { status: number; reason: string | undefined } {
  return { status: answer.status, reason: answer.body?.reason };
}

beforeAll(async () => {
  pki = await createTestPki();
  server = await startMockApnsServer({
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem },
  });
  server.registerDevice(DEVICE, { topic: BUNDLE });
  server.registerDevice(GONE_DEVICE, { topic: BUNDLE });
  server.unregisterDevice(GONE_DEVICE, 1_700_000_000_000);
  singleTopic = await pki.issueClientCertificate({ bundleId: BUNDLE, environments: ['production'] });
  multiTopic = await pki.issueClientCertificate({
    bundleId: BUNDLE,
    environments: ['sandbox', 'production'],
    topics: [BUNDLE, `${BUNDLE}.voip`],
  });
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map(closeSession));
});

afterAll(async () => {
  await server.close();
});

describe('test PKI', () => {
  it('issues a server certificate for the loopback names, signed by the CA', () => {
    const ca = new X509Certificate(pki.caCertPem);
    const leaf = new X509Certificate(pki.serverCertPem);
    expect(ca.ca).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
  });

  it('issues provider certificates with UID, environment and topic extensions', () => {
    const leaf = new X509Certificate(multiTopic.certPem);
    expect(leaf.subject).toContain(`UID=${BUNDLE}`);
    expect(leaf.verify(new X509Certificate(pki.caCertPem).publicKey)).toBe(true);
    expect(readProviderCertificate(leaf.raw)).toEqual({
      bundleId: BUNDLE,
      environments: ['sandbox', 'production'],
      topics: [BUNDLE, `${BUNDLE}.voip`],
    });
    expect(readProviderCertificate(new X509Certificate(singleTopic.certPem).raw)).toEqual({
      bundleId: BUNDLE,
      environments: ['production'],
    });
    expect(readProviderCertificate(new X509Certificate(pki.serverCertPem).raw)).toBeUndefined();
  });
});

describe('single-topic certificate', () => {
  it('accepts a push without authorization and without apns-topic (topic = UID)', async () => {
    const session = open(singleTopic);
    expect((await send(session)).status).toBe(200);
    expect(server.accepted.at(-1)).toMatchObject({ topic: BUNDLE, pushType: 'alert' });
  });

  it('ignores an authorization header', async () => {
    const session = open(singleTopic);
    expect((await send(session, { headers: { authorization: 'bearer garbage' } })).status).toBe(200);
  });

  it('raises the stream limit after the first success', async () => {
    const session = open(singleTopic);
    expect((await send(session)).status).toBe(200);
    for (let i = 0; i < 400 && session.remoteSettings.maxConcurrentStreams !== 1000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(session.remoteSettings.maxConcurrentStreams).toBe(1000);
  });

  it('allows the voip and complication topics of its app', async () => {
    const session = open(singleTopic);
    const voip = await send(session, {
      headers: { 'apns-topic': `${BUNDLE}.voip`, 'apns-push-type': 'voip' },
    });
    expect(voip.status).toBe(200);
    const complication = await send(session, {
      headers: { 'apns-topic': `${BUNDLE}.complication`, 'apns-push-type': 'complication' },
    });
    expect(complication.status).toBe(200);
  });

  it('400 BadTopic for another app', async () => {
    const session = open(singleTopic);
    expect(outcome(await send(session, { headers: { 'apns-topic': 'com.example.other' } }))).toEqual({
      status: 400,
      reason: 'BadTopic',
    });
  });

  it('400 TopicDisallowed for token-only push types and topics outside the certificate', async () => {
    const session = open(singleTopic);
    const location = await send(session, {
      headers: { 'apns-topic': `${BUNDLE}.location-query`, 'apns-push-type': 'location' },
    });
    expect(outcome(location)).toEqual({ status: 400, reason: 'TopicDisallowed' });
    const live = await send(session, {
      headers: { 'apns-topic': `${BUNDLE}.push-type.liveactivity`, 'apns-push-type': 'liveactivity' },
    });
    expect(outcome(live)).toEqual({ status: 400, reason: 'TopicDisallowed' });
    const fileProvider = await send(session, {
      headers: { 'apns-topic': `${BUNDLE}.pushkit.fileprovider`, 'apns-push-type': 'fileprovider' },
    });
    expect(outcome(fileProvider)).toEqual({ status: 400, reason: 'TopicDisallowed' });
  });

  it('checks device state like token mode', async () => {
    const session = open(singleTopic);
    expect(outcome(await send(session, { token: '99'.repeat(32) }))).toEqual({
      status: 400,
      reason: 'BadDeviceToken',
    });
    const gone = await send(session, { token: GONE_DEVICE });
    expect(gone.body).toEqual({ reason: 'Unregistered', timestamp: 1_700_000_000_000 });
  });
});

describe('multi-topic certificate', () => {
  it('400 MissingTopic without apns-topic', async () => {
    const session = open(multiTopic);
    expect(outcome(await send(session))).toEqual({ status: 400, reason: 'MissingTopic' });
  });

  it('accepts its listed topics and refuses others with TopicDisallowed', async () => {
    const session = open(multiTopic);
    expect((await send(session, { headers: { 'apns-topic': BUNDLE } })).status).toBe(200);
    const voip = await send(session, {
      headers: { 'apns-topic': `${BUNDLE}.voip`, 'apns-push-type': 'voip' },
    });
    expect(voip.status).toBe(200);
    const complication = await send(session, {
      headers: { 'apns-topic': `${BUNDLE}.complication`, 'apns-push-type': 'complication' },
    });
    expect(outcome(complication)).toEqual({ status: 400, reason: 'TopicDisallowed' });
  });
});

describe('certificate problems', () => {
  it('answers a certificate for the other environment with GOAWAY BadCertificateEnvironment, last-stream-id 0', async () => {
    const sandboxOnly = await pki.issueClientCertificate({ bundleId: BUNDLE, environments: ['sandbox'] });
    const session = open(sandboxOnly);
    const goAway = new Promise<[number, number, string]>((resolve) =>
      session.once('goaway', (code, last, data) => resolve([code, last, data?.toString() ?? ''])),
    );
    await expect(send(session)).rejects.toThrow();
    expect(await goAway).toEqual([0, 0, '{"reason":"BadCertificateEnvironment"}']);
  });

  it('403 BadCertificate for a certificate the server does not trust', async () => {
    const stranger = await pki.issueClientCertificate({
      bundleId: BUNDLE,
      environments: ['production'],
      selfSigned: true,
    });
    const session = open(stranger);
    expect(outcome(await send(session))).toEqual({ status: 403, reason: 'BadCertificate' });
  });

  it('a connection without a certificate is in token mode', async () => {
    const session = open(undefined);
    expect(outcome(await send(session, { headers: { 'apns-topic': BUNDLE } }))).toEqual({
      status: 403,
      reason: 'MissingProviderToken',
    });
  });
});
