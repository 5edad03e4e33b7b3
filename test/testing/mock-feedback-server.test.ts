import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type MockFeedbackServer,
  type MockFeedbackTuple,
  encodeMockFeedbackTuples,
  startMockFeedbackServer,
} from '../../src/testing/mock-feedback-server.ts';
import { type TestPki, createTestPki } from '../../src/testing/test-pki.ts';

/** A reference decoder for whole buffers, written here from Apple's archived "The Feedback Service" tuple layout. */
function referenceDecode(bytes: Buffer): { tuples: MockFeedbackTuple[]; rest: number } {
  const tuples: MockFeedbackTuple[] = [];
  let at = 0;
  while (bytes.length - at >= 6) {
    const length = bytes.readUInt16BE(at + 4);
    if (at + 6 + length > bytes.length) break;
    tuples.push({
      timestampSeconds: bytes.readUInt32BE(at),
      token: bytes.toString('hex', at + 6, at + 6 + length),
    });
    at += 6 + length;
  }
  return { tuples, rest: bytes.length - at };
}

interface RawRead {
  readonly bytes: Buffer;
  readonly chunks: number;
  readonly error: NodeJS.ErrnoException | undefined;
  readonly ended: boolean;
}

/** A bare TLS client: reads everything until close, or until `stopAfterMs` of silence. */
async function rawRead(
  server: MockFeedbackServer,
  client: { certPem: string; keyPem: string },
  caPem: string,
  stopAfterMs?: number,
): Promise<RawRead> {
  const socket = tls.connect({
    host: server.host,
    port: server.port,
    ca: caPem,
    cert: client.certPem,
    key: client.keyPem,
  });
  const parts: Buffer[] = [];
  let error: NodeJS.ErrnoException | undefined;
  let ended = false;
  socket.on('data', (chunk: Buffer) => parts.push(chunk));
  socket.on('error', (e) => {
    error = e;
  });
  socket.on('end', () => {
    ended = true;
  });
  if (stopAfterMs !== undefined) {
    socket.setTimeout(stopAfterMs, () => socket.destroy());
  }
  // Not events.once: that rejects on 'error', and errors are part of what is observed here.
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { bytes: Buffer.concat(parts), chunks: parts.length, error, ended };
}

function tuples(count: number, seed: number): MockFeedbackTuple[] {
  return Array.from({ length: count }, (_, i) => ({
    token: Buffer.alloc(32, (seed + i) & 0xff).toString('hex'),
    timestampSeconds: 1_700_000_000 + seed * 1000 + i,
  }));
}

let pki: TestPki;
let client: { certPem: string; keyPem: string };
let server: MockFeedbackServer | undefined;

beforeAll(async () => {
  pki = await createTestPki();
  client = await pki.issueClientCertificate({ bundleId: 'com.example.app', environments: ['production'] });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(
  options: Partial<Parameters<typeof startMockFeedbackServer>[0]> = {},
): Promise<MockFeedbackServer> {
  server = await startMockFeedbackServer({
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem },
    ...options,
  });
  return server;
}

describe('mock feedback server', () => {
  it('sends the queued tuples, closes, and clears the list', async () => {
    const s = await start();
    const queued = [...tuples(3, 1), { token: 'ABCDEF', timestampSeconds: 0xffffffff }];
    s.queue(queued);
    expect(s.pending).toBe(4);
    const first = await rawRead(s, client, pki.caCertPem);
    expect(first.ended).toBe(true);
    expect(first.bytes.equals(encodeMockFeedbackTuples(queued))).toBe(true);
    expect(referenceDecode(first.bytes)).toEqual({
      tuples: queued.map((t) => ({ ...t, token: t.token.toLowerCase() })),
      rest: 0,
    });
    expect(s.pending).toBe(0);
    const second = await rawRead(s, client, pki.caCertPem);
    expect(second.bytes.length).toBe(0);
    expect(second.ended).toBe(true);
    expect(s.connections.map((c) => c.tuplesTaken)).toEqual([4, 0]);
    expect(s.connections[0]!.clientSubject?.['UID']).toBe('com.example.app');
  });

  it('writes in fixed chunks as separate records', async () => {
    const s = await start({ chunkSize: 7 });
    const queued = tuples(5, 2);
    s.queue(queued);
    const read = await rawRead(s, client, pki.caCertPem);
    expect(referenceDecode(read.bytes).tuples).toEqual(queued);
    // 190 bytes in 7-byte writes: the client sees more than one piece (TLS may merge some).
    expect(read.chunks).toBeGreaterThan(1);
  });

  it('writes in seeded random chunk sizes', async () => {
    const s = await start({ chunkSize: { min: 1, max: 50, seed: 42 } });
    const queued = tuples(20, 3);
    s.queue(queued);
    const read = await rawRead(s, client, pki.caCertPem);
    expect(referenceDecode(read.bytes).tuples).toEqual(queued);
    expect(s.connections[0]!.bytesWritten).toBe(20 * 38);
  });

  it('stalls mid-tuple with the socket open', async () => {
    const s = await start({ faults: { stallMidTuple: { afterTuples: 2 } } });
    const queued = tuples(4, 4);
    s.queue(queued);
    const read = await rawRead(s, client, pki.caCertPem, 300);
    expect(read.ended).toBe(false); // we gave up; the server never ended
    const decoded = referenceDecode(read.bytes);
    expect(decoded.tuples).toEqual(queued.slice(0, 2));
    expect(decoded.rest).toBe(19);
    expect(s.pending).toBe(0);
  });

  it('closes mid-tuple', async () => {
    const s = await start({ faults: { closeMidTuple: true } });
    s.queue(tuples(3, 5));
    const read = await rawRead(s, client, pki.caCertPem);
    expect(read.ended).toBe(true);
    expect(referenceDecode(read.bytes)).toEqual({ tuples: [], rest: 19 });
  });

  it('rejects a client certificate from another CA', async () => {
    const s = await start();
    s.queue(tuples(2, 6));
    const stranger = await pki.issueClientCertificate({
      bundleId: 'com.example.app',
      environments: ['production'],
      selfSigned: true,
    });
    const read = await rawRead(s, stranger, pki.caCertPem);
    expect(read.bytes.length).toBe(0);
    expect(read.error).toBeDefined();
    expect(s.connections).toHaveLength(0);
    expect(s.rejectedHandshakes).toBe(1);
    expect(s.pending).toBe(2); // nothing was handed out
  });

  it('under TLS 1.3 a refused client certificate looks like an empty list to the client (why 1.2 is the default)', async () => {
    const s = await start({ maxTlsVersion: 'TLSv1.3' });
    s.queue(tuples(2, 6));
    const stranger = await pki.issueClientCertificate({
      bundleId: 'com.example.app',
      environments: ['production'],
      selfSigned: true,
    });
    const read = await rawRead(s, stranger, pki.caCertPem);
    expect(read.bytes.length).toBe(0);
    expect(s.connections).toHaveLength(0);
    expect(s.pending).toBe(2);
    const good = await rawRead(s, client, pki.caCertPem);
    expect(referenceDecode(good.bytes).tuples).toHaveLength(2);
  });

  it('rejects bad input to queue() at once', async () => {
    const s = await start();
    expect(() => s.queue([{ token: 'abc', timestampSeconds: 1 }])).toThrow(TypeError);
    expect(() => s.queue([{ token: 'zz', timestampSeconds: 1 }])).toThrow(TypeError);
    expect(() => s.queue([{ token: 'ab', timestampSeconds: -1 }])).toThrow(TypeError);
    expect(() => s.queue([{ token: 'ab', timestampSeconds: 2 ** 32 }])).toThrow(TypeError);
    expect(s.pending).toBe(0);
  });

  it('close() is idempotent and ends stalled connections', async () => {
    const s = await start({ faults: { stallMidTuple: true } });
    s.queue(tuples(1, 7));
    const reading = rawRead(s, client, pki.caCertPem);
    while (s.connections.length === 0) await new Promise((r) => setTimeout(r, 5));
    await Promise.all([s.close(), s.close()]);
    // The client is released (no hang) with at most the half tuple.
    const read = await reading;
    expect(read.bytes.length).toBeLessThanOrEqual(19);
  });
});
