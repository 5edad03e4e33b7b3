/**
 * Property: whatever frames a server sends, cut into whatever chunks, our HTTP/2 client never
 * throws, never hangs (the server closes after its script and the session must follow, its stream
 * ended), and answers the first protocol violation with GOAWAY carrying that violation's code
 * (RFC 9113 §5.4.1). Frames that are valid, or only stream errors, never draw an error GOAWAY.
 */
import type tls from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H2Stream, Http2ClientSession } from '../../src/http2/client-session.ts';
import {
  Flag,
  FrameType,
  frame,
  frameHeader,
  goawayFrame,
  H2Error,
  H2ProtocolError,
  MAX_WINDOW,
  pingFrame,
  rstStreamFrame,
  SETTINGS_ACK,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from '../../src/http2/frames.ts';
import { createTestPki } from '../../src/testing/index.ts';
import { type ClientFrame, type RawH2Server, startScriptedH2Server } from '../http2/raw-h2-server.ts';
import { headers, literal, status } from '../http2/server-frames.ts';
import { FUZZ_TIMEOUT_MS, fuzzRuns } from './fuzz-runs.ts';

const END = Flag.END_STREAM | Flag.END_HEADERS;
/** How long one run may take before it counts as a hang. */
const HANG_MS = 10_000;

/** Frames a conforming server may send at any point of this exchange (stream 1 is the request). */
const validFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .array(
      fc.oneof(
        fc.tuple(fc.constant(Setting.HEADER_TABLE_SIZE), fc.nat(8192)),
        fc.tuple(fc.constant(Setting.MAX_CONCURRENT_STREAMS), fc.nat(2000)),
        fc.tuple(fc.constant(Setting.INITIAL_WINDOW_SIZE), fc.nat(1 << 20)),
        fc.tuple(fc.constant(Setting.MAX_FRAME_SIZE), fc.integer({ min: 16_384, max: 0xff_ffff })),
        fc.tuple(fc.constant(Setting.ENABLE_PUSH), fc.constant(0)),
        fc.tuple(fc.integer({ min: 7, max: 0xffff }), fc.nat({ max: 0xffff_ffff })),
      ),
      { maxLength: 4 },
    )
    .map((settings) => settingsFrame(settings)),
  fc.constant(SETTINGS_ACK),
  fc.tuple(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.boolean()).map(([opaque, ack]) => pingFrame(opaque, ack)),
  fc.integer({ min: 1, max: 65_535 }).map((increment) => windowUpdateFrame(0, increment)),
  // §4.1, §5.5: frames of unknown types are ignored, whatever stream they name.
  fc
    .tuple(fc.integer({ min: 0x0a, max: 0xff }), fc.nat(255), fc.nat(1000), fc.uint8Array({ maxLength: 32 }))
    .map(([type, flags, streamId, payload]) => frame(type, flags, streamId, payload)),
  fc.tuple(fc.integer({ min: 1, max: 99 }), fc.uint8Array({ minLength: 5, maxLength: 5 })).map(([id, p]) => frame(FrameType.PRIORITY, 0, id, p)),
  fc
    .tuple(fc.constantFrom(103, 200, 400, 410, 500), fc.boolean(), fc.boolean())
    .map(([code, endStream, withId]) =>
      headers(1, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), status(code), ...(withId ? [literal('apns-id', 'A')] : [])),
    ),
  fc.tuple(fc.nat(100), fc.boolean()).map(([length, end]) => frame(FrameType.DATA, end ? Flag.END_STREAM : 0, 1, Buffer.alloc(length, 0x7b))),
  fc.nat(13).map((code) => rstStreamFrame(1, code)),
  fc.integer({ min: 1, max: 1000 }).map((increment) => windowUpdateFrame(1, increment)),
);

/** One connection error each, with the GOAWAY code RFC 9113 gives it. */
const violation: fc.Arbitrary<{ bytes: Buffer; code: number; rule: string }> = fc.constantFrom(
  { rule: '§6.5.2 ENABLE_PUSH=1', bytes: settingsFrame([[Setting.ENABLE_PUSH, 1]]), code: H2Error.PROTOCOL_ERROR },
  { rule: '§6.5.2 MAX_FRAME_SIZE below 16,384', bytes: settingsFrame([[Setting.MAX_FRAME_SIZE, 100]]), code: H2Error.PROTOCOL_ERROR },
  { rule: '§6.5.2 INITIAL_WINDOW_SIZE above 2^31-1', bytes: settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]]), code: H2Error.FLOW_CONTROL_ERROR },
  { rule: '§6.5 SETTINGS on a stream', bytes: frame(FrameType.SETTINGS, 0, 1, Buffer.alloc(0)), code: H2Error.PROTOCOL_ERROR },
  { rule: '§6.5 SETTINGS length', bytes: frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5)), code: H2Error.FRAME_SIZE_ERROR },
  { rule: '§6.7 PING length', bytes: frame(FrameType.PING, 0, 0, Buffer.alloc(7)), code: H2Error.FRAME_SIZE_ERROR },
  { rule: '§6.7 PING on a stream', bytes: frame(FrameType.PING, 0, 1, Buffer.alloc(8)), code: H2Error.PROTOCOL_ERROR },
  { rule: '§6.9 WINDOW_UPDATE of 0', bytes: windowUpdateFrame(0, 0), code: H2Error.PROTOCOL_ERROR },
  { rule: '§6.9.1 connection window above 2^31-1', bytes: windowUpdateFrame(0, MAX_WINDOW), code: H2Error.FLOW_CONTROL_ERROR },
  { rule: '§6.8 GOAWAY on a stream', bytes: frame(FrameType.GOAWAY, 0, 1, goawayFrame(0, 0).subarray(9)), code: H2Error.PROTOCOL_ERROR },
  { rule: '§6.6 PUSH_PROMISE with push disabled', bytes: frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.from([0, 0, 0, 2])), code: H2Error.PROTOCOL_ERROR },
  { rule: '§6.10 CONTINUATION without HEADERS', bytes: frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.alloc(0)), code: H2Error.PROTOCOL_ERROR },
  { rule: '§5.1.1 HEADERS on an even stream', bytes: headers(2, END, status(200)), code: H2Error.PROTOCOL_ERROR },
  { rule: '§5.1 HEADERS on an idle stream', bytes: headers(41, END, status(200)), code: H2Error.PROTOCOL_ERROR },
  { rule: '§5.1 DATA on an idle stream', bytes: frame(FrameType.DATA, 0, 43, Buffer.alloc(3)), code: H2Error.PROTOCOL_ERROR },
  { rule: '§5.1 RST_STREAM on an idle stream', bytes: rstStreamFrame(45, 0), code: H2Error.PROTOCOL_ERROR },
  { rule: '§5.1 WINDOW_UPDATE on an idle stream', bytes: windowUpdateFrame(47, 1), code: H2Error.PROTOCOL_ERROR },
  { rule: '§6.3 PRIORITY on stream 0', bytes: frame(FrameType.PRIORITY, 0, 0, Buffer.alloc(5)), code: H2Error.PROTOCOL_ERROR },
  { rule: '§4.2 a frame above 16,384 octets', bytes: Buffer.concat([frameHeader(16_385, 0xfa, 0, 0), Buffer.alloc(16_385)]), code: H2Error.FRAME_SIZE_ERROR },
  { rule: '§4.3 an undecodable header block', bytes: headers(1, END, Buffer.from([0x80])), code: H2Error.COMPRESSION_ERROR },
  {
    rule: '§10.5 a CONTINUATION flood',
    bytes: Buffer.concat([headers(1, 0, status(200)), ...Array.from({ length: 40 }, () => frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(0)))]),
    code: H2Error.ENHANCE_YOUR_CALM,
  },
);

const scenario = fc.record({
  prefix: fc.array(validFrame, { maxLength: 8 }),
  violation: fc.option(violation, { nil: undefined }),
  suffix: fc.array(fc.oneof(validFrame, fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b))), { maxLength: 3 }),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
});

function cut(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % Math.max(1, bytes.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    if (point > start) pieces.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

let server: RawH2Server;
/** What the server writes, in pieces, once the client's request (stream 1) arrives; then it closes. */
let pieces: Buffer[] = [];
let received: ClientFrame[] = [];

async function play(socket: tls.TLSSocket, script: readonly Buffer[]): Promise<void> {
  for (const piece of script) {
    if (socket.destroyed) return;
    socket.write(piece);
    // A turn of the event loop between writes, so the pieces tend to arrive as separate reads.
    await new Promise((resolve) => setImmediate(resolve));
  }
  socket.end();
}

beforeAll(async () => {
  const pki = await createTestPki();
  server = await startScriptedH2Server(pki, {
    onPreface: (socket) => socket.write(settingsFrame([])),
    onFrame: (socket, received_) => {
      received.push(received_);
      if (received_.type === FrameType.HEADERS && received_.streamId === 1) void play(socket, pieces);
    },
  });
  caPem = pki.caCertPem;
});
let caPem = '';
afterAll(async () => {
  await server?.close();
});

class Ended extends H2Stream {
  ended = false;
}

async function runOnce(script: readonly Buffer[]): Promise<{ error: Error | undefined; stream: Ended; frames: ClientFrame[] }> {
  pieces = [...script];
  received = [];
  const stream = new Ended();
  let onClosed: (error: Error | undefined) => void = () => {};
  const closed = new Promise<Error | undefined>((resolve) => {
    onClosed = resolve;
  });
  const session: Http2ClientSession = new Http2ClientSession({
    origin: server.origin,
    tls: { ca: caPem },
    listener: {
      onConnect: () => {
        session.request([':method', 'POST', ':scheme', 'https', ':authority', 'localhost', ':path', '/3/device/a'], Buffer.from('{}'), stream);
      },
      onRemoteSettings: () => {},
      onGoaway: () => {},
      onPingAck: () => {},
      onStreamEnd: (ended) => {
        (ended as Ended).ended = true;
      },
      onClose: (error) => onClosed(error),
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), HANG_MS);
  });
  try {
    const outcome = await Promise.race([closed, hung]);
    if (outcome === 'hung') throw new Error(`The session did not close within ${HANG_MS} ms.`);
    // The server's reads of our last frames (the GOAWAY) may trail our close.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { error: outcome, stream, frames: [...received] };
  } finally {
    clearTimeout(timer);
    session.destroy();
  }
}

describe('fuzz: our HTTP/2 client against random server frames', () => {
  it('never throws or hangs, and answers the first violation with its GOAWAY code', { timeout: FUZZ_TIMEOUT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ prefix, violation: broken, suffix, cuts }) => {
        const bytes = Buffer.concat([...prefix, ...(broken === undefined ? [] : [broken.bytes]), ...suffix]);
        const { error, stream, frames } = await runOnce(cut(bytes, cuts));
        expect(stream.ended).toBe(true);
        const goaways = frames.filter((f) => f.type === FrameType.GOAWAY).map((f) => f.payload.readUInt32BE(4));
        if (broken !== undefined) {
          expect(error, broken.rule).toBeInstanceOf(H2ProtocolError);
          expect((error as H2ProtocolError).errorCode, broken.rule).toBe(broken.code);
          // The GOAWAY is written before the socket ends; the server may still be reading it.
          if (goaways.length > 0) expect(goaways[0], broken.rule).toBe(broken.code);
        } else if (error instanceof H2ProtocolError) {
          // Only the random suffix bytes may break the protocol when no violation was planted.
          expect(suffix.length).toBeGreaterThan(0);
        } else {
          expect(goaways.every((code) => code === H2Error.NO_ERROR)).toBe(true);
        }
      }),
      { numRuns: fuzzRuns(20, 0.05) },
    );
  });
});
