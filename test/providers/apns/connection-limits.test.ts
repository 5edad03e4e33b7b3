/**
 * The stream limit before and after the server's SETTINGS, with a hand-written server that holds its
 * SETTINGS back: APNs allows one stream until a connection is authenticated ("Sending notification requests to APNs"),
 * and a client must not open a second before the server says it may.
 */
import type tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApnsConnection, type ConnectionListener, type StreamOutcome } from '../../../src/providers/apns/connection.ts';
import { FrameType, settingsFrame } from '../../../src/http2/frames.ts';
import { createTestPki, type TestPki } from '../../../src/testing/index.ts';
import { clientFrames, type RawH2Server, startRawH2Server } from '../../http2/raw-h2-server.ts';

let pki: TestPki;
let server: RawH2Server | undefined;
let connection: ApnsConnection | undefined;
beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(async () => {
  connection?.destroy();
  await server?.close();
  server = undefined;
  connection = undefined;
});

const MAX_CONCURRENT_STREAMS = 0x3;
const request = {
  headers: { ':method': 'POST', ':path': `/3/device/${'ab'.repeat(32)}`, 'apns-topic': 'com.example' },
  payload: Buffer.from('{}'),
  timeoutMs: 5000,
};

describe('ApnsConnection stream limit', () => {
  it('opens one stream until the server first sends SETTINGS, then as many as it allows', async () => {
    let client: tls.TLSSocket | undefined;
    server = await startRawH2Server(pki, (socket) => {
      client = socket;
    });
    let capacity = 0;
    const listener: ConnectionListener = {
      onCapacity: () => {
        capacity += 1;
      },
      onDraining: () => {},
      onClosed: () => {},
    };
    const open = new ApnsConnection({
      id: 1,
      origin: server.origin,
      ca: pki.caCertPem,
      listener,
      maxStreams: 1000,
      connectTimeoutMs: 5000,
      heartbeatMs: 0,
      heartbeatTimeoutMs: 1000,
      idleTimeoutMs: 0,
    });
    connection = open;
    await expect.poll(() => open.state).toBe('ready');
    // No SETTINGS from the server yet: one stream, and only one.
    expect(open.available()).toBe(1);
    const outcomes: StreamOutcome[] = [];
    open.request(request, (outcome) => outcomes.push(outcome));
    expect(open.available()).toBe(0);
    await expect
      .poll(() => clientFrames(server!.received).filter((f) => f.type === FrameType.HEADERS).length)
      .toBe(1);

    const before = capacity;
    client!.write(settingsFrame([[MAX_CONCURRENT_STREAMS, 5]]));
    await expect.poll(() => open.serverLimit).toBe(5);
    expect(capacity).toBeGreaterThan(before);
    expect(open.available()).toBe(4);
    for (let i = 0; i < 4; i += 1) open.request(request, (outcome) => outcomes.push(outcome));
    expect(open.available()).toBe(0);
    await expect
      .poll(() => clientFrames(server!.received).filter((f) => f.type === FrameType.HEADERS).length)
      .toBe(5);
    expect(outcomes).toEqual([]);
  });
});
