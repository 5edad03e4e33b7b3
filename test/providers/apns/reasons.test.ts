/**
 * Every reason of Apple's table, answered by the mock, arrives as a rejection with the table's
 * disposition, over token and certificate auth; malformed answers are classified, never thrown.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApnsClient } from '../../../src/providers/apns/index.ts';
import { APNS_REASON_NAMES, APNS_REASONS } from '../../../src/domain/index.ts';
import { AUTH_MODES, alert, BUNDLE_ID, type Fixture, randomToken, startFixture } from './fixtures.ts';

const noRetry = { maxAttempts: 1, maxResends: 0 };

describe.each(AUTH_MODES)('reasons over $auth auth', ({ auth }) => {
  let fixture: Fixture;
  let sender: ApnsClient;
  beforeAll(async () => {
    fixture = await startFixture({ auth });
    sender = fixture.client({ retry: noRetry });
  });
  afterAll(async () => {
    await fixture?.close();
  });
  const server = () => fixture.server;
  const client = () => sender;

  it.each(APNS_REASON_NAMES)('%s → its status and disposition', async (reason) => {
    const rule = APNS_REASONS[reason];
    const timestamp = Date.UTC(2026, 5, 1, 12, 0, 0, 123);
    server().respondWith(() => ({ status: rule.status, reason, ...(rule.status === 410 ? { timestamp } : {}) }));
    try {
      const result = await client().send(alert(randomToken()));
      expect(result).toMatchObject({ kind: 'rejected', status: rule.status, reason, disposition: rule.disposition, scope: rule.scope });
      if (result.kind === 'rejected' && rule.status === 410) expect(result.invalidSince?.getTime()).toBe(timestamp);
      if (result.kind === 'rejected' && rule.status !== 410) expect(result.invalidSince).toBeUndefined();
    } finally {
      server().respondWith(undefined);
    }
  });

  it('an unknown reason is classified from its status', async () => {
    server().respondWith(() => ({ status: 400, reason: 'SomethingNew' }));
    try {
      expect(await client().send(alert(randomToken()))).toMatchObject({ kind: 'rejected', status: 400, reason: 'SomethingNew', disposition: 'permanent' });
      server().respondWith(() => ({ status: 410, reason: 'GoneSomehow' }));
      expect(await client().send(alert(randomToken()))).toMatchObject({ kind: 'rejected', status: 410, disposition: 'invalidate-token' });
    } finally {
      server().respondWith(undefined);
    }
  });

  it('validated answers: unknown token, other topic, unregistered with timestamp, accepted', async () => {
    const good = randomToken();
    const other = randomToken();
    const gone = randomToken();
    server().registerDevice(good, { topic: BUNDLE_ID });
    server().registerDevice(other, { topic: 'com.example.other' });
    server().registerDevice(gone, { topic: BUNDLE_ID });
    server().unregisterDevice(gone, 1_750_000_000_123);
    expect(await client().send(alert(good))).toMatchObject({ kind: 'accepted' });
    expect(await client().send(alert(randomToken()))).toMatchObject({ kind: 'rejected', reason: 'BadDeviceToken', disposition: 'environment-mismatch' });
    expect(await client().send(alert(other))).toMatchObject({ kind: 'rejected', reason: 'DeviceTokenNotForTopic', disposition: 'invalidate-token' });
    const result = await client().send(alert(gone));
    expect(result).toMatchObject({ kind: 'rejected', status: 410, reason: 'Unregistered', disposition: 'invalidate-token' });
    if (result.kind === 'rejected') expect(result.invalidSince).toEqual(new Date(1_750_000_000_123));
  });

  describe('malformed answers from a raw HTTP/2 server', () => {
    let raw: http2.Http2SecureServer;
    let client: ApnsClient;
    let answer: (stream: http2.ServerHttp2Stream) => void = () => {};

    beforeAll(async () => {
      // Asks for a client certificate and, in certificate mode, insists on a trusted one: the
      // answers below reach a client that really presented it.
      const { pki } = fixture;
      raw = http2.createSecureServer({
        cert: pki.serverCertPem,
        key: pki.serverKeyPem,
        ca: pki.caCertPem,
        requestCert: true,
        rejectUnauthorized: auth === 'certificate',
      });
      raw.on('stream', (stream) => {
        stream.on('error', () => {});
        stream.resume();
        stream.on('end', () => answer(stream));
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      const { port } = raw.address() as AddressInfo;
      client = fixture.client({ origin: `https://127.0.0.1:${port}`, retry: noRetry });
    });
    afterAll(async () => {
      client?.destroy();
      await new Promise((resolve) => raw.close(resolve));
    });

    it('invalid JSON, an empty 400 body, a non-object body', async () => {
      answer = (stream) => {
        stream.respond({ ':status': 400, 'content-type': 'application/json' });
        stream.end('{"reason": BadDev');
      };
      expect(await client.send(alert(randomToken()))).toMatchObject({ kind: 'rejected', status: 400, reason: 'Unknown', disposition: 'permanent' });
      answer = (stream) => stream.respond({ ':status': 400 }, { endStream: true });
      expect(await client.send(alert(randomToken()))).toMatchObject({ kind: 'rejected', status: 400, reason: 'Unknown' });
      answer = (stream) => {
        stream.respond({ ':status': 403 });
        stream.end('[1,2]');
      };
      expect(await client.send(alert(randomToken()))).toMatchObject({ kind: 'rejected', status: 403, disposition: 'reauth' });
      answer = (stream) => {
        stream.respond({ ':status': 410 });
        stream.end('{"reason":"Unregistered","timestamp":"not a number"}');
      };
      const gone = await client.send(alert(randomToken()));
      expect(gone).toMatchObject({ kind: 'rejected', status: 410, reason: 'Unregistered' });
      if (gone.kind === 'rejected') expect(gone.invalidSince).toBeUndefined();
    });

    it('a GOAWAY with plain-text debug data: the unprocessed stream is resent and accepted', async () => {
      let first = true;
      answer = (stream) => {
        if (first) {
          first = false;
          // APNs once sent plain text here (https://github.com/jchambers/pushy/issues/356). Node
          // cannot send last-stream-id 0 (it substitutes the last processed id), so the stream is
          // refused explicitly as well.
          stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 0, Buffer.from('Maximum active streams violated'));
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          return;
        }
        stream.respond({ ':status': 200, 'apns-id': '123e4567-e89b-12d3-a456-4266554400a0' }, { endStream: true });
      };
      const { port } = raw.address() as AddressInfo;
      const retrying = fixture.client({ origin: `https://127.0.0.1:${port}` });
      try {
        const result = await retrying.send(alert(randomToken(), { apnsId: '123e4567-e89b-12d3-a456-4266554400a0' }));
        expect(result).toEqual({ kind: 'accepted', apnsId: '123e4567-e89b-12d3-a456-4266554400a0' });
        expect(retrying.stats().resends).toBe(1);
        expect(retrying.stats().pool.opened).toBe(2);
      } finally {
        retrying.destroy();
      }
    });
  });
});
