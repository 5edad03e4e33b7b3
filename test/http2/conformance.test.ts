/**
 * Our HTTP/2 client against a hand-written server that breaks one RFC 9113 rule at a time. Each
 * case names the section. A connection error must be answered with GOAWAY carrying its code and
 * the session closed (§5.4.1); a stream error with RST_STREAM carrying its code, the stream ended
 * and the connection left usable (§5.4.2). Either way the open request ends: nothing hangs.
 */
import type tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { H2Stream, Http2ClientSession } from '../../src/http2/client-session.ts';
import {
  Flag,
  FrameType,
  frame,
  H2Error,
  H2ProtocolError,
  Setting,
  SETTINGS_ACK,
  settingsFrame,
} from '../../src/http2/frames.ts';
import { createTestPki, type TestPki } from '../../src/testing/index.ts';
import { type ClientFrame, type RawH2Server, startScriptedH2Server } from './raw-h2-server.ts';
import { data, headers, literal, status } from './server-frames.ts';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});

const END = Flag.END_STREAM | Flag.END_HEADERS;

class EndedStream extends H2Stream {
  readonly ended: Promise<EndedStream>;
  #resolve: (stream: EndedStream) => void = () => {};
  constructor() {
    super();
    this.ended = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
  finish(): void {
    this.#resolve(this);
  }
}

interface Run {
  readonly session: Http2ClientSession;
  readonly server: RawH2Server;
  readonly frames: ClientFrame[];
  readonly closed: Promise<Error | undefined>;
  request(): EndedStream;
}

/**
 * A server that sends `preface` (default: empty SETTINGS), acknowledges the client's SETTINGS and
 * calls `misbehave` when the client's request on stream 1 arrives; it answers 200 to later streams.
 */
async function run(misbehave: (socket: tls.TLSSocket) => void, preface = [settingsFrame([])]): Promise<Run> {
  const frames: ClientFrame[] = [];
  const server = await startScriptedH2Server(pki, {
    onPreface: (socket) => {
      for (const buffer of preface) socket.write(buffer);
    },
    onFrame: (socket, received) => {
      frames.push(received);
      if (received.type === FrameType.SETTINGS && (received.flags & Flag.ACK) === 0)
        socket.write(SETTINGS_ACK);
      if (received.type !== FrameType.HEADERS) return;
      if (received.streamId === 1) misbehave(socket);
      else socket.write(headers(received.streamId, END, Buffer.from([0x88])));
    },
  });
  let onClosed: (error: Error | undefined) => void = () => {};
  const closed = new Promise<Error | undefined>((resolve) => {
    onClosed = resolve;
  });
  let onConnected: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    onConnected = resolve;
  });
  const session = new Http2ClientSession({
    origin: server.origin,
    tls: { ca: pki.caCertPem },
    listener: {
      onConnect: () => onConnected(),
      onRemoteSettings: () => {},
      onGoaway: () => {},
      onPingAck: () => {},
      onStreamEnd: (stream) => (stream as EndedStream).finish(),
      onClose: (error) => onClosed(error),
    },
  });
  await connected;
  const path = [':method', 'POST', ':scheme', 'https', ':authority', 'localhost', ':path', '/3/device/x'];
  return {
    session,
    server,
    frames,
    closed,
    request() {
      const stream = new EndedStream();
      session.request(path, Buffer.from('{}'), stream);
      return stream;
    },
  };
}

function goawayCode(frames: readonly ClientFrame[]): number | undefined {
  return frames.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(4);
}

function rstCode(frames: readonly ClientFrame[], streamId: number): number | undefined {
  return frames
    .find((f) => f.type === FrameType.RST_STREAM && f.streamId === streamId)
    ?.payload.readUInt32BE(0);
}

/** [rule, RFC 9113 section, what the server does once stream 1 is open, the GOAWAY code expected] */
const connectionErrors: [string, string, (socket: tls.TLSSocket) => void, number][] = [
  [
    'HEADERS on an even stream',
    '§5.1.1',
    (s) => s.write(headers(2, END, status(200))),
    H2Error.PROTOCOL_ERROR,
  ],
  ['HEADERS on an idle stream', '§5.1', (s) => s.write(headers(3, END, status(200))), H2Error.PROTOCOL_ERROR],
  ['DATA on an idle stream', '§5.1', (s) => s.write(data(3, 10, Flag.END_STREAM)), H2Error.PROTOCOL_ERROR],
  [
    'RST_STREAM on an idle stream',
    '§5.1',
    (s) => s.write(frame(FrameType.RST_STREAM, 0, 5, Buffer.from([0, 0, 0, 8]))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'WINDOW_UPDATE on an idle stream',
    '§5.1',
    (s) => s.write(frame(FrameType.WINDOW_UPDATE, 0, 7, Buffer.from([0, 0, 1, 0]))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'PRIORITY on stream 0',
    '§6.3',
    (s) => s.write(frame(FrameType.PRIORITY, 0, 0, Buffer.from([0, 0, 0, 1, 16]))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'a CONTINUATION flood: 10,000 empty frames that never end the block',
    '§6.10, §10.5 (CVE-2024-27316)',
    (s) => {
      const empty = frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(0));
      s.write(
        Buffer.concat([
          headers(1, Flag.END_STREAM, status(200)),
          ...Array.from({ length: 10_000 }, () => empty),
        ]),
      );
    },
    H2Error.ENHANCE_YOUR_CALM,
  ],
  [
    'a header block above 64 KiB in CONTINUATION frames',
    '§6.10, §10.5.1',
    (s) => {
      const chunk = frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16_384, 0x41));
      s.write(Buffer.concat([headers(1, Flag.END_STREAM, status(200)), chunk, chunk, chunk, chunk, chunk]));
    },
    H2Error.ENHANCE_YOUR_CALM,
  ],
];

describe('connection errors: GOAWAY with the code, the session closed, the request ended', () => {
  it('SETTINGS_ENABLE_PUSH=1 from a server (§6.5.2) is a PROTOCOL_ERROR', async () => {
    const client = await run(() => {}, [settingsFrame([[Setting.ENABLE_PUSH, 1]])]);
    try {
      const stream = client.request();
      expect((await stream.ended).end).toBe('connection-lost');
      const error = await client.closed;
      expect(error).toBeInstanceOf(H2ProtocolError);
      expect((error as H2ProtocolError).errorCode).toBe(H2Error.PROTOCOL_ERROR);
      await expect.poll(() => goawayCode(client.frames)).toBe(H2Error.PROTOCOL_ERROR);
    } finally {
      client.session.destroy();
      await client.server.close();
    }
  });

  it.each(connectionErrors)('%s (%s)', async (_rule, _section, misbehave, code) => {
    const client = await run(misbehave);
    try {
      const stream = client.request();
      expect((await stream.ended).end).toBe('connection-lost');
      const error = await client.closed;
      expect((error as H2ProtocolError).errorCode).toBe(code);
      await expect.poll(() => goawayCode(client.frames)).toBe(code);
      expect(client.session.canOpenStreams).toBe(false);
    } finally {
      client.session.destroy();
      await client.server.close();
    }
  });
});

/** [rule, RFC 9113 section, what the server answers on stream 1, the RST_STREAM code expected] */
const streamErrors: [string, string, (socket: tls.TLSSocket) => void, number][] = [
  [
    'DATA beyond the 64 KiB stream window',
    '§6.9.1',
    (s) =>
      s.write(
        Buffer.concat([
          headers(1, Flag.END_HEADERS, status(400)),
          ...Array.from({ length: 5 }, () => data(1, 16_384)),
        ]),
      ),
    H2Error.FLOW_CONTROL_ERROR,
  ],
  [
    'a 1xx answer with END_STREAM',
    '§8.1',
    (s) => s.write(headers(1, END, status(103))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'a 101 answer, which HTTP/2 does not have',
    '§8.6',
    (s) => s.write(headers(1, Flag.END_HEADERS, status(101))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'an upper-case field name',
    '§8.2.1',
    (s) => s.write(headers(1, END, status(200), literal('Apns-Id', 'x'))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'a pseudo-header after a regular field',
    '§8.3',
    (s) => s.write(headers(1, END, literal('apns-id', 'x'), status(200))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'a request pseudo-header in a response',
    '§8.3.2',
    (s) => s.write(headers(1, END, status(200), literal(':path', '/'))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'a connection-specific field',
    '§8.2.2',
    (s) => s.write(headers(1, END, status(200), literal('connection', 'close'))),
    H2Error.PROTOCOL_ERROR,
  ],
  [
    'a field value with a line feed',
    '§8.2.1',
    (s) => s.write(headers(1, END, status(200), literal('apns-id', 'a\nb'))),
    H2Error.PROTOCOL_ERROR,
  ],
  ['no :status', '§8.3.2', (s) => s.write(headers(1, END, literal('apns-id', 'x'))), H2Error.PROTOCOL_ERROR],
  [
    'DATA before the response headers',
    '§8.1',
    (s) => s.write(data(1, 2, Flag.END_STREAM)),
    H2Error.PROTOCOL_ERROR,
  ],
];

describe('stream errors: RST_STREAM with the code, the request ended, the connection still serving', () => {
  it.each(streamErrors)('%s (%s)', async (_rule, _section, misbehave, code) => {
    const client = await run(misbehave);
    try {
      const stream = await client.request().ended;
      expect(stream.end).toBe('connection-lost');
      expect(stream.streamError?.errorCode).toBe(code);
      await expect.poll(() => rstCode(client.frames, 1)).toBe(code);
      const next = await client.request().ended;
      expect([next.end, next.status]).toEqual(['complete', 200]);
      expect(goawayCode(client.frames)).toBeUndefined();
    } finally {
      client.session.destroy();
      await client.server.close();
    }
  });

  it('an answer that fills the stream window without ending is cut there (§6.9.1): 16 KiB kept, RST_STREAM CANCEL', async () => {
    const client = await run((s) =>
      s.write(
        Buffer.concat([
          headers(1, Flag.END_HEADERS, status(400)),
          data(1, 16_384),
          data(1, 16_384),
          data(1, 16_384),
          data(1, 16_383),
        ]),
      ),
    );
    try {
      const stream = await client.request().ended;
      expect([stream.end, stream.status, stream.streamError]).toEqual(['complete', 400, undefined]);
      expect(Buffer.concat(stream.chunks ?? []).length).toBe(16_384);
      await expect.poll(() => rstCode(client.frames, 1)).toBe(H2Error.CANCEL);
      expect(client.frames.some((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === 1)).toBe(false);
    } finally {
      client.session.destroy();
      await client.server.close();
    }
  });

  it('interim 1xx answers without END_STREAM are skipped (§8.1)', async () => {
    const client = await run((s) =>
      s.write(
        Buffer.concat([
          headers(1, Flag.END_HEADERS, status(103)),
          headers(1, END, status(200), literal('apns-id', 'A')),
        ]),
      ),
    );
    try {
      const stream = await client.request().ended;
      expect([stream.end, stream.status, stream.fields]).toEqual([
        'complete',
        200,
        [':status', '200', 'apns-id', 'A'],
      ]);
    } finally {
      client.session.destroy();
      await client.server.close();
    }
  });
});
