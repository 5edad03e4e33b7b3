/**
 * What a send resolves to when the server breaks HTTP/2 or offers no stream: a failed result with
 * a stable code, in bounded time, never a hang until the request timeout (60 s here on purpose).
 */
import type tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { Flag, FrameType, frame, H2Error, Setting, SETTINGS_ACK, settingsFrame } from '../../../src/http2/frames.ts';
import { ApnsClient } from '../../../src/providers/apns/index.ts';
import { createTestPki, generateSigningKey, type TestPki } from '../../../src/testing/index.ts';
import { type ClientFrame, startScriptedH2Server } from '../../http2/raw-h2-server.ts';
import { headers, literal, status } from '../../http2/server-frames.ts';
import { BUNDLE_ID, randomToken } from './fixtures.ts';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});

const key = generateSigningKey({ teamId: 'TEAM123456', keyId: 'KEY1234567' });
const auth = { kind: 'token' as const, key: { teamId: key.teamId, keyId: key.keyId, privateKeyPem: key.privateKeyPem } };
const END = Flag.END_STREAM | Flag.END_HEADERS;

async function serve(settings: [number, number][], answer: (socket: tls.TLSSocket, streamId: number) => void) {
  const frames: ClientFrame[] = [];
  const server = await startScriptedH2Server(pki, {
    onPreface: (socket) => socket.write(settingsFrame(settings)),
    onFrame: (socket, frame) => {
      frames.push(frame);
      if (frame.type === FrameType.SETTINGS && (frame.flags & Flag.ACK) === 0) socket.write(SETTINGS_ACK);
      if (frame.type === FrameType.HEADERS) answer(socket, frame.streamId);
    },
  });
  return { server, frames };
}

function client(origin: string, extra: Partial<ConstructorParameters<typeof ApnsClient>[0]> = {}): ApnsClient {
  return new ApnsClient({
    origin,
    ca: pki.caCertPem,
    auth,
    connections: 1,
    requestTimeoutMs: 60_000,
    retry: { maxAttempts: 2, baseDelayMs: 1 },
    ...extra,
  });
}

const notification = () => ({ token: randomToken(), bundleId: BUNDLE_ID, payload: { aps: { alert: 'x' } } });

describe('a server that breaks HTTP/2 or offers no stream', () => {
  it('MAX_CONCURRENT_STREAMS 0: the send fails PK_ERR_APNS_NO_STREAMS after noStreamsTimeoutMs, not the request timeout', async () => {
    // The one stream a client may open before the server's SETTINGS arrive is refused, as RFC 9113
    // §5.1.2 lets a server do with streams above its limit.
    const { server, frames } = await serve([[Setting.MAX_CONCURRENT_STREAMS, 0]], (socket, streamId) =>
      socket.write(frame(FrameType.RST_STREAM, 0, streamId, Buffer.from([0, 0, 0, H2Error.REFUSED_STREAM]))),
    );
    const apns = client(server.origin, { noStreamsTimeoutMs: 300 });
    try {
      const result = await apns.send(notification());
      expect(result).toMatchObject({ kind: 'failed', code: 'PK_ERR_APNS_NO_STREAMS', ambiguous: false });
      expect(frames.filter((f) => f.type === FrameType.HEADERS).length).toBeLessThanOrEqual(1);
    } finally {
      apns.destroy();
      await server.close();
    }
  });

  it('a malformed answer (upper-case field name): RST_STREAM PROTOCOL_ERROR and the send fails PK_ERR_APNS_PROTOCOL, ambiguous', async () => {
    const { server, frames } = await serve([], (socket, streamId) =>
      socket.write(headers(streamId, END, status(200), literal('Apns-Id', 'x'))),
    );
    const apns = client(server.origin);
    try {
      const result = await apns.send(notification());
      expect(result).toMatchObject({ kind: 'failed', code: 'PK_ERR_APNS_PROTOCOL', ambiguous: true });
      const resets = () => frames.filter((f) => f.type === FrameType.RST_STREAM).map((f) => f.payload.readUInt32BE(0));
      await expect.poll(resets).toEqual([H2Error.PROTOCOL_ERROR, H2Error.PROTOCOL_ERROR]);
    } finally {
      apns.destroy();
      await server.close();
    }
  });

  it('a connection error (HEADERS on an even stream): GOAWAY PROTOCOL_ERROR and the send fails PK_ERR_APNS_PROTOCOL', async () => {
    const { server, frames } = await serve([], (socket) => socket.write(headers(2, END, status(200))));
    const apns = client(server.origin, { retry: { maxAttempts: 1 } });
    try {
      const result = await apns.send(notification());
      expect(result).toMatchObject({ kind: 'failed', code: 'PK_ERR_APNS_PROTOCOL', ambiguous: true });
      await expect
        .poll(() => frames.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(4))
        .toBe(H2Error.PROTOCOL_ERROR);
    } finally {
      apns.destroy();
      await server.close();
    }
  });
});
