/**
 * HTTP/2 to one push-service origin over our own client session (src/http2/), for services that
 * negotiate h2 by ALPN (FCM; Apple on request). Up to `maxConnections` sessions; a request takes a
 * stream on the least busy session that has room under the server's SETTINGS_MAX_CONCURRENT_STREAMS
 * (Apple: "respect SETTINGS_MAX_CONCURRENT_STREAMS"), a new session is opened only when all are
 * full, and otherwise it waits in a FIFO queue.
 *
 * A stream the server did not process (REFUSED_STREAM, above a GOAWAY's last stream id, RFC 9113
 * §8.7) or that never left us before the connection dropped is sent again on another session; one
 * that may have been processed fails as ambiguous.
 */
import { H2Error } from '../../http2/frames.ts';
import { H2Stream, Http2ClientSession, type SessionListener } from '../../http2/client-session.ts';
import {
  flatHeaderLookup,
  type PushRequest,
  type PushResponse,
  type PushTransport,
  RESPONSE_BODY_CAP,
  TransportFailure,
  type TransportOptions,
} from './transport.ts';

/** Header values that differ per request: kept out of the HPACK dynamic table. */
const VOLATILE_HEADER_NAMES = [':path', 'topic', 'content-length'];
/** Times a not-processed request is moved to another session before it fails. */
const MAX_REQUEUES = 3;
/** Connection attempts in a row that may fail before queued requests fail with them. */
const MAX_CONNECT_FAILURES = 2;

class PushStream extends H2Stream {
  requeues = 0;
  timer: NodeJS.Timeout | undefined = undefined;

  readonly request: PushRequest;
  readonly resolve: (response: PushResponse) => void;
  readonly reject: (error: TransportFailure) => void;

  constructor(
    request: PushRequest,
    resolve: (response: PushResponse) => void,
    reject: (error: TransportFailure) => void,
  ) {
    super();
    this.request = request;
    this.resolve = resolve;
    this.reject = reject;
  }
}

interface SessionSlot {
  readonly session: Http2ClientSession;
  ready: boolean;
}

export class Http2Transport implements PushTransport {
  readonly protocol = 'h2' as const;
  readonly #options: TransportOptions;
  readonly #authority: string;
  readonly #slots: SessionSlot[] = [];
  #queue: PushStream[] = [];
  #connectFailures = 0;
  #inFlight = 0;
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#authority = new URL(options.origin).host;
  }

  send(request: PushRequest): Promise<PushResponse> {
    if (this.#closed)
      return Promise.reject(
        new TransportFailure('PK_ERR_WEBPUSH_CLIENT_CLOSED', 'The transport is closed.', false),
      );
    return new Promise((resolve, reject) => {
      this.#inFlight += 1;
      this.#queue.push(new PushStream(request, resolve, reject));
      this.#pump();
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#inFlight === 0) {
      this.#closeSessions();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#drained = () => {
        this.#closeSessions();
        resolve();
      };
    });
  }

  destroy(): void {
    this.#closed = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const stream of queued)
      this.#fail(
        stream,
        new TransportFailure('PK_ERR_WEBPUSH_CLIENT_CLOSED', 'The client was destroyed.', false),
      );
    for (const slot of this.#slots) slot.session.destroy();
  }

  #closeSessions(): void {
    for (const slot of this.#slots) slot.session.close();
  }

  /** Starts queued requests on sessions with room; opens a session when all are full. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const slot = this.#leastBusyReadySlot();
      if (slot === undefined) break;
      const stream = this.#queue.shift()!;
      this.#start(slot, stream);
    }
    if (this.#queue.length > 0 && !this.#closed) {
      const connecting = this.#slots.some((slot) => !slot.ready);
      if (!connecting && this.#slots.length < this.#options.maxConnections) this.#connect();
    }
  }

  #leastBusyReadySlot(): SessionSlot | undefined {
    let best: SessionSlot | undefined;
    for (const slot of this.#slots) {
      const session = slot.session;
      if (!slot.ready || !session.canOpenStreams) continue;
      if (session.activeStreams >= session.remoteMaxConcurrentStreams) continue;
      if (best === undefined || session.activeStreams < best.session.activeStreams) best = slot;
    }
    return best;
  }

  #start(slot: SessionSlot, stream: PushStream): void {
    const { request } = stream;
    const fields = [
      ':method',
      'POST',
      ':scheme',
      'https',
      ':authority',
      this.#authority,
      ':path',
      request.path,
    ];
    for (const [name, value] of request.headers) fields.push(name, value);
    fields.push('content-length', String(request.body.length));
    stream.timer = setTimeout(() => {
      slot.session.cancel(stream);
    }, this.#options.requestTimeoutMs);
    slot.session.request(fields, request.body, stream);
  }

  #connect(): void {
    let slot: SessionSlot | undefined;
    const connectTimer = setTimeout(() => {
      session.destroy(new Error('connect timeout'));
    }, this.#options.connectTimeoutMs);
    const listener: SessionListener = {
      onConnect: () => undefined,
      onRemoteSettings: () => {
        if (slot === undefined || slot.ready) {
          this.#pump();
          return;
        }
        clearTimeout(connectTimer);
        slot.ready = true;
        this.#connectFailures = 0;
        this.#pump();
      },
      onGoaway: () => this.#pump(),
      onPingAck: () => undefined,
      onStreamEnd: (ended) => this.#onStreamEnd(ended as PushStream),
      onClose: (error) => {
        clearTimeout(connectTimer);
        const index = this.#slots.indexOf(slot!);
        if (index >= 0) this.#slots.splice(index, 1);
        if (slot !== undefined && !slot.ready) {
          this.#connectFailures += 1;
          if (this.#connectFailures >= MAX_CONNECT_FAILURES) {
            this.#connectFailures = 0;
            const queued = this.#queue;
            this.#queue = [];
            const message = `Could not connect to ${this.#options.origin}: ${error?.message ?? 'closed'}`;
            for (const stream of queued)
              this.#fail(
                stream,
                new TransportFailure('PK_ERR_WEBPUSH_CONNECTION', message, false, { cause: error }),
              );
          }
        }
        this.#pump();
      },
    };
    const session = new Http2ClientSession({
      origin: this.#options.origin,
      listener,
      volatileHeaderNames: VOLATILE_HEADER_NAMES,
      ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
    });
    slot = { session, ready: false };
    this.#slots.push(slot);
  }

  #onStreamEnd(stream: PushStream): void {
    this.#endStream(stream);
    // A stream slot is free now: queued requests may start.
    if (this.#queue.length > 0) this.#pump();
  }

  #endStream(stream: PushStream): void {
    clearTimeout(stream.timer);
    switch (stream.end) {
      case 'complete': {
        const chunks = stream.chunks;
        const body =
          chunks === undefined ? '' : Buffer.concat(chunks).subarray(0, RESPONSE_BODY_CAP).toString('utf8');
        this.#settle();
        stream.resolve({ status: stream.status, body, header: flatHeaderLookup(stream.fields) });
        return;
      }
      case 'cancelled':
        this.#fail(
          stream,
          new TransportFailure('PK_ERR_WEBPUSH_TIMEOUT', 'The push service did not answer in time.', true),
        );
        return;
      default: {
        const notProcessed =
          stream.end === 'goaway' ||
          (stream.end === 'reset' && stream.rstCode === H2Error.REFUSED_STREAM) ||
          (stream.end === 'connection-lost' && !stream.requestWritten);
        if (notProcessed && stream.requeues < MAX_REQUEUES && !this.#closed) {
          stream.requeues += 1;
          const again = new PushStream(stream.request, stream.resolve, stream.reject);
          again.requeues = stream.requeues;
          this.#queue.unshift(again);
          return;
        }
        const message =
          stream.end === 'reset'
            ? `The push service reset the stream (code ${stream.rstCode}).`
            : 'The connection to the push service was lost.';
        this.#fail(stream, new TransportFailure('PK_ERR_WEBPUSH_CONNECTION', message, !notProcessed));
      }
    }
  }

  #fail(stream: PushStream, error: TransportFailure): void {
    clearTimeout(stream.timer);
    this.#settle();
    stream.reject(error);
  }

  #settle(): void {
    this.#inFlight -= 1;
    if (this.#inFlight === 0 && this.#drained !== undefined) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained();
    }
  }
}
