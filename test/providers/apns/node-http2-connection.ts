/**
 * A reference PoolConnection over node:http2 (nghttp2), plugged in at the client's
 * `connectionFactory` seam: the same client, pool and retry rules run over Node's HTTP/2 stack, so
 * a test suite run with both shows where our own stack (src/http2/) behaves differently.
 *
 * It reports the same outcomes ApnsConnection does: REFUSED_STREAM and streams above a GOAWAY's
 * last-stream-id are `not-processed`, a request timeout is `ambiguous`/`timeout`, a drop after the
 * request was written is `ambiguous`/`connection-lost`.
 */
import http2 from 'node:http2';
import { PushkeeperError } from '../../../src/errors.ts';
import {
  type ConnectionListener,
  type ConnectionState,
  type GoawayInfo,
  parseGoawayDebug,
  type PoolConnection,
  type StreamOutcome,
  type WireRequest,
} from '../../../src/providers/apns/connection.ts';
import type { ConnectionFactory } from '../../../src/providers/apns/pool.ts';

export interface NodeHttp2ConnectionOptions {
  readonly origin: string;
  readonly ca: string;
  /** The provider certificate in certificate auth. */
  readonly clientTls?: { readonly cert: string; readonly key: string } | undefined;
  readonly maxStreams?: number;
}

export function nodeHttp2Factory(options: NodeHttp2ConnectionOptions): ConnectionFactory {
  return (id, listener) => new NodeHttp2Connection(id, listener, options);
}

export class NodeHttp2Connection implements PoolConnection {
  readonly id: number;
  readonly #listener: ConnectionListener;
  readonly #session: http2.ClientHttp2Session;
  readonly #maxStreams: number;
  #state: ConnectionState = 'connecting';
  /** One stream until the server's first SETTINGS, as APNs asks of token-auth clients. */
  #serverLimit = 1;
  #active = 0;
  #everConnected = false;
  #everResponded = false;
  #error: PushkeeperError | undefined;
  #goaway: GoawayInfo | undefined;

  constructor(id: number, listener: ConnectionListener, options: NodeHttp2ConnectionOptions) {
    this.id = id;
    this.#listener = listener;
    this.#maxStreams = options.maxStreams ?? 1000;
    this.#session = http2.connect(options.origin, {
      ca: options.ca,
      ...(options.clientTls ?? {}),
      settings: { enablePush: false },
    });
    this.#session.on('connect', () => {
      this.#everConnected = true;
      if (this.#state !== 'connecting') return;
      this.#state = 'ready';
      this.#listener.onCapacity(this);
    });
    this.#session.on('remoteSettings', (settings) => {
      this.#serverLimit = settings.maxConcurrentStreams ?? Number.MAX_SAFE_INTEGER;
      if (this.#state === 'ready') this.#listener.onCapacity(this);
    });
    this.#session.on('goaway', (errorCode, lastStreamId, opaqueData) => {
      this.#goaway = { errorCode, lastStreamId, ...parseGoawayDebug(opaqueData) };
      if (lastStreamId > 0) this.#everResponded = true;
      this.#drain();
    });
    this.#session.on('error', (error: Error) => {
      this.#error ??= new PushkeeperError('PK_ERR_APNS_CONNECTION', error.message, {}, { cause: error });
    });
    this.#session.on('close', () => {
      this.#drain();
      this.#state = 'closed';
      this.#listener.onClosed(this);
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get activeStreams(): number {
    return this.#active;
  }

  get everConnected(): boolean {
    return this.#everConnected;
  }

  get everResponded(): boolean {
    return this.#everResponded;
  }

  get error(): PushkeeperError | undefined {
    return this.#error;
  }

  available(): number {
    if (this.#state !== 'ready' || this.#session.closed || this.#session.destroyed) return 0;
    return Math.max(0, Math.min(this.#serverLimit, this.#maxStreams) - this.#active);
  }

  request(wire: WireRequest, done: (outcome: StreamOutcome) => void): void {
    if (this.available() <= 0) {
      done({ kind: 'not-processed', cause: 'not-written', error: this.#error });
      return;
    }
    const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':scheme': 'https' };
    for (const [name, value] of Object.entries(wire.headers)) headers[name] = value;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.#session.request(headers, { endStream: false });
    } catch (error) {
      done({ kind: 'not-processed', cause: 'not-written', error: new PushkeeperError('PK_ERR_APNS_CONNECTION', String(error)) });
      return;
    }
    this.#active += 1;
    let status = 0;
    let fields: string[] = [];
    const chunks: Buffer[] = [];
    let written = false;
    let timedOut = false;
    let finished = false;
    const finish = (outcome: StreamOutcome) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.#active -= 1;
      if (status !== 0) this.#everResponded = true;
      done(outcome);
      if (this.#state === 'ready') this.#listener.onCapacity(this);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, wire.timeoutMs);
    timer.unref();
    stream.on('response', (responseHeaders, flags) => {
      status = Number(responseHeaders[':status']);
      fields = rawFields(responseHeaders);
      void flags;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => {});
    stream.on('close', () => {
      if (timedOut) {
        finish({
          kind: 'ambiguous',
          cause: 'timeout',
          error: new PushkeeperError('PK_ERR_APNS_TIMEOUT', undefined, { connectionId: this.id }),
        });
        return;
      }
      const rstCode = stream.rstCode ?? 0;
      if (status !== 0 && rstCode === http2.constants.NGHTTP2_NO_ERROR) {
        finish({ kind: 'response', status, headers: headerObject(fields), fields, body: Buffer.concat(chunks), connectionId: this.id });
        return;
      }
      const goaway = this.#goaway;
      if (rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) {
        finish({ kind: 'not-processed', cause: 'refused-stream', goaway });
        return;
      }
      // RFC 9113 §6.8: streams above last-stream-id were not processed.
      if (goaway !== undefined && (stream.id === undefined || stream.id > goaway.lastStreamId)) {
        finish({ kind: 'not-processed', cause: 'goaway', goaway });
        return;
      }
      if (!written) {
        finish({ kind: 'not-processed', cause: 'not-written', error: this.#error });
        return;
      }
      finish({
        kind: 'ambiguous',
        cause: 'connection-lost',
        error: this.#error ?? new PushkeeperError('PK_ERR_APNS_CONNECTION', `The stream closed (rst ${rstCode}).`),
      });
    });
    stream.end(wire.payload, () => {
      written = true;
    });
  }

  close(): Promise<void> {
    this.#drain();
    if (this.#state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.#session.close(() => resolve()));
  }

  destroy(error?: PushkeeperError): void {
    if (error !== undefined) this.#error ??= error;
    this.#drain();
    this.#session.destroy();
  }

  #drain(): void {
    if (this.#state === 'ready' || this.#state === 'connecting') {
      this.#state = 'draining';
      this.#listener.onDraining(this);
    }
  }
}

/** Node's header object back to the flat [name, value, …] list our connection reports. */
function rawFields(headers: http2.IncomingHttpHeaders): string[] {
  const fields: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) fields.push(name, String(one));
  }
  return fields;
}

function headerObject(fields: readonly string[]): http2.IncomingHttpHeaders {
  const headers = Object.create(null) as Record<string, string>;
  for (let index = 0; index < fields.length; index += 2) headers[fields[index]!] = fields[index + 1]!;
  return headers;
}
