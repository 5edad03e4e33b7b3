/**
 * Interop with nghttp2 (node:http2's HPACK, what real servers speak): our encoder's blocks are sent
 * as raw HEADERS frames to an h2c server, which must see exactly those fields; its response blocks
 * are read off the socket and decoded by our decoder.
 */
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HpackDecoder } from '../../src/http2/hpack-decoder.ts';
import { HpackEncoder } from '../../src/http2/hpack-encoder.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const SETTINGS_HEADER_TABLE_SIZE = 0x1;

/** RFC 9113 §4.1: length (24 bits), type, flags, stream id (31 bits), payload. */
function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** Reads frames off a socket, in order, as they arrive. */
class FrameReader {
  #buffered = Buffer.alloc(0);
  readonly #frames: Frame[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      while (this.#buffered.length >= 9) {
        const length = this.#buffered.readUIntBE(0, 3);
        if (this.#buffered.length < 9 + length) break;
        this.#frames.push({
          type: this.#buffered[3]!,
          flags: this.#buffered[4]!,
          streamId: this.#buffered.readUInt32BE(5) & 0x7fffffff,
          payload: this.#buffered.subarray(9, 9 + length),
        });
        this.#buffered = this.#buffered.subarray(9 + length);
      }
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  async next(): Promise<Frame> {
    while (this.#frames.length === 0) {
      if (this.#ended) throw new Error('connection closed');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    return this.#frames.shift()!;
  }

  /** The next complete header block (HEADERS + CONTINUATION) and its stream, skipping other frames. */
  async nextHeaderBlock(onSettings: (frame: Frame) => void): Promise<{ streamId: number; block: Buffer }> {
    for (;;) {
      const f = await this.next();
      if (f.type === FRAME_SETTINGS) onSettings(f);
      if (f.type !== FRAME_HEADERS) continue;
      let payload = f.payload;
      if ((f.flags & FLAG_PADDED) !== 0) payload = payload.subarray(1, payload.length - payload[0]!);
      if ((f.flags & FLAG_PRIORITY) !== 0) payload = payload.subarray(5);
      const parts = [payload];
      let flags = f.flags;
      while ((flags & FLAG_END_HEADERS) === 0) {
        const continuation = await this.next();
        expect(continuation.type).toBe(FRAME_CONTINUATION);
        parts.push(continuation.payload);
        flags = continuation.flags;
      }
      return { streamId: f.streamId, block: Buffer.concat(parts) };
    }
  }
}

interface Seen {
  readonly rawHeaders: string[];
  readonly answered: Record<string, string>;
}

const STATUSES = ['200', '200', '400', '403', '410', '429', '500', '503'];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function startServer(settings: http2.Settings): Promise<{ port: number; seen: Map<number, Seen> }> {
  const server = http2.createServer({ settings });
  const seen = new Map<number, Seen>();
  let requests = 0;
  server.on('stream', (stream, _headers, _flags, rawHeaders) => {
    const answered = {
      ':status': STATUSES[requests++ % STATUSES.length]!,
      'apns-id': randomUUID(),
      'apns-unique-id': randomUUID(),
      'content-type': 'application/json',
    };
    // A server stream always has its id by the time its headers arrived.
    seen.set(stream.id!, { rawHeaders: [...rawHeaders], answered });
    stream.respond(answered, { endStream: true });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, seen };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  closers.push(async () => {
    socket.destroy();
  });
  return socket;
}

function apnsRequest(i: number, jwt: string): string[] {
  const fields = [
    ':method',
    'POST',
    ':scheme',
    'https',
    ':authority',
    'api.push.apple.com',
    ':path',
    `/3/device/${Buffer.from(randomUUID() + randomUUID())
      .toString('hex')
      .slice(0, 64)}`,
    'authorization',
    `bearer ${jwt}`,
    'apns-topic',
    i % 3 === 0 ? 'com.example.other' : 'com.example.app',
    'apns-push-type',
    i % 5 === 0 ? 'background' : 'alert',
    'apns-priority',
    i % 5 === 0 ? '5' : '10',
    'apns-id',
    randomUUID(),
  ];
  if (i % 4 === 0) fields.push('apns-expiration', String(1_700_000_000 + i));
  if (i % 7 === 0) fields.push('apns-collapse-id', `collapse-${i}\u00e9`);
  return fields;
}

/**
 * Sends `count` requests whose blocks come from our encoder, then decodes the answers with our
 * decoder. `configure` runs once the server's SETTINGS arrived.
 */
async function exchange(
  settings: http2.Settings,
  count: number,
  huffmanVolatileValues: boolean,
  configure: (encoder: HpackEncoder, serverSettings: Frame) => void,
): Promise<void> {
  const { port, seen } = await startServer(settings);
  const socket = await connect(port);
  const reader = new FrameReader(socket);
  const encoder = new HpackEncoder({
    volatileNames: [':path', 'apns-id', 'apns-expiration', 'apns-collapse-id'],
    huffmanVolatileValues,
  });
  const decoder = new HpackDecoder();
  socket.write(Buffer.concat([PREFACE, frame(FRAME_SETTINGS, 0, 0)]));

  let serverSettings: Frame;
  for (;;) {
    serverSettings = await reader.next();
    if (serverSettings.type === FRAME_SETTINGS && (serverSettings.flags & FLAG_ACK) === 0) break;
  }
  socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0));
  configure(encoder, serverSettings);

  const sent = new Map<number, string[]>();
  let jwt = `eyJhbGciOiJFUzI1NiJ9.${'a'.repeat(150)}.${'s'.repeat(40)}`;
  for (let i = 0; i < count; i++) {
    // The provider token is replaced now and then, as every 20 to 60 minutes in production.
    if (i === Math.floor(count / 2)) jwt = `eyJhbGciOiJFUzI1NiJ9.${'b'.repeat(150)}.${'t'.repeat(40)}`;
    const streamId = 2 * i + 1;
    const fields = apnsRequest(i, jwt);
    sent.set(streamId, fields);
    socket.write(frame(FRAME_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, streamId, encoder.encode(fields)));
  }

  for (let i = 0; i < count; i++) {
    const { streamId, block } = await reader.nextHeaderBlock(() => {});
    const decoded = decoder.decode(block);
    const server = seen.get(streamId)!;
    expect(server.rawHeaders).toEqual(sent.get(streamId));
    const fields = new Map<string, string>();
    for (let j = 0; j < decoded.length; j += 2) fields.set(decoded[j]!, decoded[j + 1]!);
    expect(decoded[0]).toBe(':status');
    for (const [name, value] of Object.entries(server.answered))
      expect([name, fields.get(name)]).toEqual([name, value]);
    // Node adds `date`; nothing else.
    expect([...fields.keys()].sort()).toEqual([...Object.keys(server.answered), 'date'].sort());
  }
  expect(seen.size).toBe(count);
}

describe('HPACK interop with nghttp2 (node:http2 h2c server, raw frames)', () => {
  it('nghttp2 accepts our blocks and we decode its answers (4096-octet tables, with evictions)', async () => {
    await exchange({}, 120, false, () => {});
  });

  it('with the server advertising a 256-octet table, our size update comes first (all Huffman)', async () => {
    await exchange({ headerTableSize: 256 }, 40, true, (encoder, serverSettings) => {
      const payload = serverSettings.payload;
      let size: number | undefined;
      for (let at = 0; at + 6 <= payload.length; at += 6) {
        if (payload.readUInt16BE(at) === SETTINGS_HEADER_TABLE_SIZE) size = payload.readUInt32BE(at + 2);
      }
      expect(size).toBe(256);
      encoder.setPeerMaxTableSize(size!);
    });
  });
});
