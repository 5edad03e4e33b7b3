/**
 * Our HTTP/2 client session against nghttp2 (Node's http2 server) over real TLS, for what the APNs
 * mock does not exercise — flow control with small windows, bodies larger than a frame, header
 * blocks split into CONTINUATION, interim answers, server PING and SETTINGS changes — and against a
 * hand-written TLS server for the protocol violations nghttp2 never commits.
 */
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  H2Stream,
  Http2ClientSession,
  type SessionListener,
} from '../../src/http2/client-session.ts';
import { Flag, FrameType, frameHeader, H2Error, settingsFrame } from '../../src/http2/frames.ts';
import { createTestPki, type TestPki } from '../../src/testing/index.ts';
import { clientFrames, type RawH2Server, startRawH2Server } from './raw-h2-server.ts';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});

class TestStream extends H2Stream {
  readonly ended: Promise<TestStream>;
  resolve: (stream: TestStream) => void = () => {};
  constructor() {
    super();
    this.ended = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
}

interface OpenedSession {
  readonly session: Http2ClientSession;
  readonly settings: number[];
  readonly goaways: { errorCode: number; lastStreamId: number; debug: string }[];
  readonly pingAcks: number[];
  readonly connected: Promise<void>;
  readonly settled: Promise<void>;
  readonly closed: Promise<Error | undefined>;
  request(fields: readonly string[], body?: Buffer): TestStream;
}

function openSession(origin: string, extra: tls.ConnectionOptions = {}): OpenedSession {
  const settings: number[] = [];
  const goaways: OpenedSession['goaways'] = [];
  const pingAcks: number[] = [];
  let onConnected: () => void = () => {};
  let onSettled: () => void = () => {};
  let onClosed: (error: Error | undefined) => void = () => {};
  const connected = new Promise<void>((resolve) => {
    onConnected = resolve;
  });
  const settled = new Promise<void>((resolve) => {
    onSettled = resolve;
  });
  const closed = new Promise<Error | undefined>((resolve) => {
    onClosed = resolve;
  });
  const listener: SessionListener = {
    onConnect: () => onConnected(),
    onRemoteSettings: (max) => {
      settings.push(max);
      onSettled();
    },
    onGoaway: (errorCode, lastStreamId, debug) =>
      goaways.push({ errorCode, lastStreamId, debug: debug.toString('utf8') }),
    onPingAck: () => pingAcks.push(Date.now()),
    onStreamEnd: (stream) => (stream as TestStream).resolve(stream as TestStream),
    onClose: (error) => onClosed(error),
  };
  const session = new Http2ClientSession({
    origin,
    listener,
    tls: { ca: pki.caCertPem, ...extra },
    volatileHeaderNames: [':path'],
  });
  return {
    session,
    settings,
    goaways,
    pingAcks,
    connected,
    settled,
    closed,
    request(fields, body = Buffer.alloc(0)) {
      const stream = new TestStream();
      session.request(fields, body, stream);
      return stream;
    },
  };
}

function post(origin: string, path: string, extra: string[] = []): string[] {
  return [':method', 'POST', ':scheme', 'https', ':authority', new URL(origin).host, ':path', path, ...extra];
}

function fieldValue(stream: H2Stream, name: string): string | undefined {
  const fields = stream.fields ?? [];
  for (let index = 0; index < fields.length; index += 2) if (fields[index] === name) return fields[index + 1];
  return undefined;
}

async function startServer(
  handler: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  settings: http2.Settings = {},
): Promise<{
  origin: string;
  server: http2.Http2SecureServer;
  sessions: http2.ServerHttp2Session[];
  close(): Promise<void>;
}> {
  const server = http2.createSecureServer({ key: pki.serverKeyPem, cert: pki.serverCertPem, settings });
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    handler(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://localhost:${port}`,
    server,
    sessions,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads the request body, answers with its length and SHA-256. */
function echoDigest(stream: http2.ServerHttp2Stream): void {
  const hash = createHash('sha256');
  let length = 0;
  stream.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    length += chunk.length;
  });
  stream.on('end', () => {
    stream.respond(
      { ':status': 200, 'x-length': String(length), 'x-sha256': hash.digest('hex') },
      { endStream: true },
    );
  });
}

describe('Http2ClientSession against nghttp2', () => {
  it('sends 300 bodies of 3,000 octets through a 1,024-octet stream window and the 64 KiB connection window', async () => {
    const server = await startServer(echoDigest, { initialWindowSize: 1024 });
    const client = openSession(server.origin);
    try {
      await client.settled;
      const bodies = Array.from({ length: 300 }, (_, index) => Buffer.alloc(3000, index % 251));
      const streams = bodies.map((body, index) =>
        client.request(post(server.origin, `/echo/${index}`), body),
      );
      const ended = await Promise.all(streams.map((stream) => stream.ended));
      for (const [index, stream] of ended.entries()) {
        expect(stream.end).toBe('complete');
        expect(stream.status).toBe(200);
        expect(fieldValue(stream, 'x-length')).toBe('3000');
        expect(fieldValue(stream, 'x-sha256')).toBe(
          createHash('sha256').update(bodies[index]!).digest('hex'),
        );
      }
    } finally {
      client.session.destroy();
      await server.close();
    }
  });

  it('splits a body larger than the frame size into DATA frames', async () => {
    const server = await startServer(echoDigest);
    const client = openSession(server.origin);
    try {
      await client.settled;
      const body = Buffer.from(Array.from({ length: 50_000 }, (_, index) => index % 256));
      const stream = await client.request(post(server.origin, '/big'), body).ended;
      expect(stream.status).toBe(200);
      expect(fieldValue(stream, 'x-length')).toBe('50000');
      expect(fieldValue(stream, 'x-sha256')).toBe(createHash('sha256').update(body).digest('hex'));
    } finally {
      client.session.destroy();
      await server.close();
    }
  });

  it('cuts an answer longer than the stream window there (never reopened), keeping the first 16 KiB', async () => {
    const body = Buffer.alloc(200_000, 0x61);
    const server = await startServer((stream) => {
      stream.respond({ ':status': 400, 'content-type': 'application/json' });
      stream.end(body);
    });
    const client = openSession(server.origin);
    try {
      await client.settled;
      const streams = Array.from({ length: 5 }, () =>
        client.request(post(server.origin, '/large-answer'), Buffer.from('{}')),
      );
      for (const stream of await Promise.all(streams.map((s) => s.ended))) {
        expect(stream.end).toBe('complete');
        expect(stream.status).toBe(400);
        expect(Buffer.concat(stream.chunks ?? []).length).toBe(16_384);
      }
    } finally {
      client.session.destroy();
      await server.close();
    }
  });

  it('decodes a header block that arrives in HEADERS and CONTINUATION frames, and skips interim answers', async () => {
    const big = 'v'.repeat(40_000);
    const server = await startServer((stream) => {
      stream.additionalHeaders({ ':status': 103, link: '</a>; rel=preload' });
      stream.respond({ ':status': 200, 'x-big': big, 'apns-id': 'A1' }, { endStream: true });
    });
    const client = openSession(server.origin);
    try {
      await client.settled;
      const stream = await client.request(post(server.origin, '/continuation'), Buffer.from('{}')).ended;
      expect(stream.status).toBe(200);
      expect(fieldValue(stream, 'x-big')).toBe(big);
      expect(fieldValue(stream, 'apns-id')).toBe('A1');
      expect(fieldValue(stream, 'link')).toBeUndefined();
    } finally {
      client.session.destroy();
      await server.close();
    }
  });

  it("answers the server's PING, sees its SETTINGS changes and gets its own PINGs answered", async () => {
    const server = await startServer(echoDigest, { maxConcurrentStreams: 7 });
    const client = openSession(server.origin);
    try {
      await client.settled;
      expect(client.settings).toEqual([7]);
      const serverSession = server.sessions[0]!;
      const rtt = await new Promise<number>((resolve, reject) =>
        serverSession.ping((error, duration) => (error ? reject(error) : resolve(duration))),
      );
      expect(rtt).toBeGreaterThanOrEqual(0);
      serverSession.settings({ maxConcurrentStreams: 3 });
      await expect.poll(() => client.settings).toEqual([7, 3]);
      expect(client.session.remoteMaxConcurrentStreams).toBe(3);
      client.session.ping();
      await expect.poll(() => client.pingAcks.length).toBe(1);
    } finally {
      client.session.destroy();
      await server.close();
    }
  });

  it('after GOAWAY ends the streams above last-stream-id as not processed and finishes the others', async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const server = await startServer((stream) => {
      stream.resume();
      held.push(stream);
    });
    const client = openSession(server.origin);
    try {
      await client.settled;
      const streams = Array.from({ length: 4 }, (_, index) =>
        client.request(post(server.origin, `/held/${index}`), Buffer.from('{}')),
      );
      await expect.poll(() => held.length).toBe(4);
      server.sessions[0]!.goaway(H2Error.NO_ERROR, 3, Buffer.from('{"reason":"Shutdown"}'));
      await expect.poll(() => client.goaways.length).toBe(1);
      expect(client.goaways[0]).toEqual({ errorCode: 0, lastStreamId: 3, debug: '{"reason":"Shutdown"}' });
      expect(client.session.canOpenStreams).toBe(false);
      const late = await Promise.all([streams[2]!.ended, streams[3]!.ended]);
      expect(late.map((stream) => stream.end)).toEqual(['goaway', 'goaway']);
      for (const stream of held.slice(0, 2)) stream.respond({ ':status': 200 }, { endStream: true });
      const early = await Promise.all([streams[0]!.ended, streams[1]!.ended]);
      expect(early.map((stream) => [stream.end, stream.status])).toEqual([
        ['complete', 200],
        ['complete', 200],
      ]);
      expect(await client.closed).toBeUndefined();
    } finally {
      client.session.destroy();
      await server.close();
    }
  });

  it('reports REFUSED_STREAM resets and cancels a stream with RST_STREAM CANCEL', async () => {
    const resets: number[] = [];
    let hanging = 0;
    const server = await startServer((stream, headers) => {
      stream.resume();
      if (headers[':path'] === '/refuse') stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else {
        hanging += 1;
        stream.on('close', () => resets.push(stream.rstCode ?? -1));
      }
    });
    const client = openSession(server.origin);
    try {
      await client.settled;
      const refused = await client.request(post(server.origin, '/refuse'), Buffer.from('{}')).ended;
      expect([refused.end, refused.rstCode]).toEqual(['reset', H2Error.REFUSED_STREAM]);
      const cancelled = client.request(post(server.origin, '/hang'), Buffer.from('{}'));
      await expect.poll(() => hanging).toBe(1);
      client.session.cancel(cancelled);
      expect((await cancelled.ended).end).toBe('cancelled');
      await expect.poll(() => resets).toEqual([H2Error.CANCEL]);
    } finally {
      client.session.destroy();
      await server.close();
    }
  });

  it('ends the open streams as connection-lost when the socket goes', async () => {
    let seen = 0;
    const server = await startServer((stream) => {
      seen += 1;
      stream.resume();
    });
    const client = openSession(server.origin);
    try {
      await client.settled;
      const stream = client.request(post(server.origin, '/lost'), Buffer.from('{}'));
      await expect.poll(() => seen).toBe(1);
      server.sessions[0]!.destroy();
      const ended = await stream.ended;
      expect(ended.end).toBe('connection-lost');
      expect(ended.requestWritten).toBe(true);
    } finally {
      client.session.destroy();
      await server.close();
    }
  });
});

/** A hand-written h2 server that writes `frames` once the client's preface arrives. */
function startRawServer(frames: Buffer[], alpn: string[] = ['h2']): Promise<RawH2Server> {
  return startRawH2Server(
    pki,
    (socket, _chunk, first) => {
      if (first) for (const frame of frames) socket.write(frame);
    },
    alpn,
  );
}

/** The error code of the GOAWAY frame the client wrote, if any. */
function goawayCode(received: readonly Buffer[]): number | undefined {
  return clientFrames(received)
    .find((f) => f.type === FrameType.GOAWAY)
    ?.payload.readUInt32BE(4);
}

describe('Http2ClientSession against a misbehaving server', () => {
  const cases: [string, Buffer[], number][] = [
    [
      'a first frame other than SETTINGS',
      [frameHeader(8, FrameType.PING, 0, 0), Buffer.alloc(8)],
      H2Error.PROTOCOL_ERROR,
    ],
    [
      'PUSH_PROMISE while push is disabled',
      [
        settingsFrame([]),
        frameHeader(4, FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1),
        Buffer.from([0, 0, 0, 2]),
      ],
      H2Error.PROTOCOL_ERROR,
    ],
    [
      'a frame above 16,384 octets',
      [settingsFrame([]), frameHeader(20_000, 0xfa, 0, 0), Buffer.alloc(20_000)],
      H2Error.FRAME_SIZE_ERROR,
    ],
    [
      'SETTINGS of a bad length',
      [frameHeader(5, FrameType.SETTINGS, 0, 0), Buffer.alloc(5)],
      H2Error.FRAME_SIZE_ERROR,
    ],
    ['an initial window above 2^31-1', [settingsFrame([[0x4, 0x8000_0000]])], H2Error.FLOW_CONTROL_ERROR],
    [
      'a connection WINDOW_UPDATE of 0',
      [settingsFrame([]), frameHeader(4, FrameType.WINDOW_UPDATE, 0, 0), Buffer.alloc(4)],
      H2Error.PROTOCOL_ERROR,
    ],
    [
      'a header block that HPACK cannot decode',
      [settingsFrame([]), frameHeader(2, FrameType.HEADERS, Flag.END_HEADERS, 1), Buffer.from([0x80, 0x00])],
      H2Error.COMPRESSION_ERROR,
    ],
  ];

  it.each(cases)('answers %s with GOAWAY and closes with an error', async (_name, frames, code) => {
    const server = await startRawServer(frames);
    const client = openSession(server.origin);
    try {
      await client.connected;
      client.request(post(server.origin, '/x'), Buffer.from('{}'));
      const error = await client.closed;
      expect(error?.message).toBeTruthy();
      expect(goawayCode(server.received)).toBe(code);
    } finally {
      client.session.destroy();
      await server.close();
    }
  });

  it('refuses a server that does not negotiate h2', async () => {
    const server = await startRawServer([], []);
    const client = openSession(server.origin);
    try {
      const error = await client.closed;
      expect(error?.message).toMatch(/did not negotiate HTTP\/2/);
      expect(client.session.connected).toBe(false);
    } finally {
      client.session.destroy();
      await server.close();
    }
  });
});
