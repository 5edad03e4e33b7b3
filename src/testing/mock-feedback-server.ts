/**
 * A mock of Apple's legacy binary feedback service (Apple's archived "The Feedback Service"), for tests and demos.
 *
 * Behaviour modelled on Apple's description: mutual TLS with the provider certificate; no request —
 * as soon as the TLS session is up the service writes its list of tuples and closes; the list is
 * cleared once read, so the next connection gets only what was queued since. The list is taken
 * (and cleared) when a connection is accepted, including connections that a fault cuts short: the
 * real service gives no second chance either.
 *
 * Writes are spread over several TLS records (`chunkSize`) with a turn of the event loop between
 * them, so clients see tuples split at arbitrary byte boundaries. TCP and TLS may still merge
 * records on the client side; the decoder's own property test covers exact splits.
 *
 * An independent oracle: it encodes tuples itself and shares no code with src/feedback/.
 */
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import { seededRandom } from './fault-random.ts';

export interface MockFeedbackTuple {
  /** The token's bytes as hex, any case (odd or short values are allowed: malformed-input tests). */
  readonly token: string;
  /** When the push failed, in seconds since 1970-01-01 UTC (0 to 2^32 - 1). */
  readonly timestampSeconds: number;
}

/** Either a fixed number of bytes per write or a random size in [min, max] from a seeded PRNG. */
export type MockFeedbackChunkSize =
  | number
  | { readonly min: number; readonly max: number; readonly seed?: number };

export interface MockFeedbackFaults {
  /**
   * Send the first `afterTuples` tuples (default 0) and half of the next one, then stop sending and
   * keep the socket open: the client must give up by its idle timeout.
   */
  readonly stallMidTuple?: boolean | { readonly afterTuples: number };
  /** Like stallMidTuple, but close the connection cleanly after the half tuple. */
  readonly closeMidTuple?: boolean | { readonly afterTuples: number };
}

export interface MockFeedbackServerOptions {
  readonly tls: {
    readonly certPem: string;
    readonly keyPem: string;
    /** Client certificates must chain to this CA, as the real service requires the provider certificate. */
    readonly clientCaPem: string;
  };
  readonly host?: string;
  readonly port?: number;
  /**
   * Default TLSv1.2, as Apple's feedback hosts spoke. Under TLS 1.3 a node server checks the client
   * certificate only after the client has finished its handshake and then just closes the
   * connection, which a client cannot tell from an empty list; under TLS 1.2 the handshake itself
   * fails, so a refused certificate is a visible error.
   */
  readonly maxTlsVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Bytes per write; default: the whole list in one write. */
  readonly chunkSize?: MockFeedbackChunkSize;
  readonly faults?: MockFeedbackFaults;
}

export interface MockFeedbackConnection {
  readonly id: number;
  /** Whether the client presented a certificate the server accepted. */
  readonly authorized: boolean;
  /** The subject of the client certificate (e.g. its UID, the bundle id), when one was presented. */
  readonly clientSubject: Readonly<Record<string, string | string[]>> | undefined;
  /** How many tuples were taken off the list for this connection. */
  readonly tuplesTaken: number;
  readonly bytesWritten: number;
}

export interface MockFeedbackServer {
  readonly host: string;
  readonly port: number;
  /** Appends tuples to the list the next connection receives. */
  queue(tuples: readonly MockFeedbackTuple[]): void;
  /** Tuples waiting for the next connection. */
  readonly pending: number;
  setChunkSize(chunkSize: MockFeedbackChunkSize | undefined): void;
  setFaults(faults: MockFeedbackFaults | undefined): void;
  /** Connections that completed the TLS handshake, oldest first. */
  readonly connections: readonly MockFeedbackConnection[];
  /** TLS handshakes that failed (e.g. a client certificate from another CA). */
  readonly rejectedHandshakes: number;
  /** Stops listening and destroys open (e.g. stalled) connections. Idempotent. */
  close(): Promise<void>;
}

/** The wire format, encoded here independently of the client's decoder. */
export function encodeMockFeedbackTuples(tuples: readonly MockFeedbackTuple[]): Buffer {
  const parts: Buffer[] = [];
  for (const tuple of tuples) parts.push(encodeOne(tuple));
  return Buffer.concat(parts);
}

function encodeOne(tuple: MockFeedbackTuple): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(tuple.token)) {
    throw new TypeError('A mock feedback token must be hex with an even number of digits.');
  }
  const seconds = tuple.timestampSeconds;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0xffffffff) {
    throw new TypeError('timestampSeconds must be an integer from 0 to 2^32 - 1.');
  }
  const token = Buffer.from(tuple.token, 'hex');
  if (token.length > 0xffff) throw new TypeError('A token longer than 65535 bytes cannot be encoded.');
  const bytes = Buffer.allocUnsafe(6 + token.length);
  bytes.writeUInt32BE(seconds, 0);
  bytes.writeUInt16BE(token.length, 4);
  token.copy(bytes, 6);
  return bytes;
}

function subjectOf(peer: tls.PeerCertificate | undefined): Record<string, string | string[]> | undefined {
  if (peer === undefined || peer.subject === undefined) return undefined;
  const subject: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(peer.subject)) if (value !== undefined) subject[key] = value;
  return subject;
}

function chunkSizer(chunkSize: MockFeedbackChunkSize | undefined, connectionId: number): () => number {
  if (chunkSize === undefined) return () => Number.POSITIVE_INFINITY;
  if (typeof chunkSize === 'number') {
    if (!Number.isInteger(chunkSize) || chunkSize < 1)
      throw new TypeError('chunkSize must be a positive integer.');
    return () => chunkSize;
  }
  const { min, max } = chunkSize;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new TypeError('chunkSize range must be integers with 1 <= min <= max.');
  }
  const random = seededRandom((chunkSize.seed ?? 1) + connectionId);
  return () => min + Math.floor(random() * (max - min + 1));
}

function faultCut(fault: boolean | { readonly afterTuples: number } | undefined): number | undefined {
  if (fault === undefined || fault === false) return undefined;
  return fault === true ? 0 : fault.afterTuples;
}

export async function startMockFeedbackServer(
  options: MockFeedbackServerOptions,
): Promise<MockFeedbackServer> {
  const host = options.host ?? '127.0.0.1';
  let list: MockFeedbackTuple[] = [];
  let chunkSize = options.chunkSize;
  let faults = options.faults;
  let rejectedHandshakes = 0;
  let closing: Promise<void> | undefined;
  const connections: MockFeedbackConnection[] = [];
  const sockets = new Set<Socket>();
  chunkSizer(chunkSize, 0); // validate early

  const server = tls.createServer({
    cert: options.tls.certPem,
    key: options.tls.keyPem,
    ca: options.tls.clientCaPem,
    requestCert: true,
    rejectUnauthorized: true,
    maxVersion: options.maxTlsVersion ?? 'TLSv1.2',
  });

  // Raw sockets, so close() also ends connections still in (or stuck before) the handshake.
  server.on('connection', (raw: Socket) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
  });

  server.on('tlsClientError', () => {
    rejectedHandshakes += 1;
  });

  server.on('secureConnection', (socket) => {
    socket.on('error', () => {
      // A client that goes away mid-write is not the mock's problem.
    });
    socket.setNoDelay(true);
    const taken = list;
    list = [];
    const peer = socket.getPeerCertificate();
    const record = {
      id: connections.length + 1,
      authorized: socket.authorized,
      clientSubject: subjectOf(peer),
      tuplesTaken: taken.length,
      bytesWritten: 0,
    };
    connections.push(record);
    void serve(socket, taken, record, chunkSizer(chunkSize, record.id), faults);
  });

  async function serve(
    socket: tls.TLSSocket,
    tuples: readonly MockFeedbackTuple[],
    record: { bytesWritten: number },
    nextSize: () => number,
    activeFaults: MockFeedbackFaults | undefined,
  ): Promise<void> {
    const stallAt = faultCut(activeFaults?.stallMidTuple);
    const closeAt = faultCut(activeFaults?.closeMidTuple);
    const cutAt = stallAt ?? closeAt;
    let bytes: Buffer;
    if (cutAt !== undefined && cutAt < tuples.length) {
      const whole = encodeMockFeedbackTuples(tuples.slice(0, cutAt));
      const next = encodeOne(tuples[cutAt]!);
      bytes = Buffer.concat([whole, next.subarray(0, Math.max(1, Math.floor(next.length / 2)))]);
    } else {
      bytes = encodeMockFeedbackTuples(tuples);
    }
    let offset = 0;
    while (offset < bytes.length && !socket.destroyed) {
      const end = Math.min(bytes.length, offset + nextSize());
      const flushed = socket.write(bytes.subarray(offset, end));
      record.bytesWritten += end - offset;
      offset = end;
      if (!flushed) await once(socket, 'drain').catch(() => undefined);
      // A turn of the event loop so each write leaves as its own TLS record.
      else if (offset < bytes.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (stallAt !== undefined && stallAt < tuples.length) return; // keep the socket open, silent
    socket.end();
  }

  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    host,
    port,
    queue(tuples) {
      for (const tuple of tuples) encodeOne(tuple); // reject bad input now, not on connect
      list.push(...tuples);
    },
    get pending() {
      return list.length;
    },
    setChunkSize(next) {
      chunkSizer(next, 0);
      chunkSize = next;
    },
    setFaults(next) {
      faults = next;
    },
    get connections() {
      return connections;
    },
    get rejectedHandshakes() {
      return rejectedHandshakes;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
