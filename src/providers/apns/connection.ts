/**
 * One HTTP/2 session to one APNs origin (Apple, "Sending notification requests to APNs":
 * streams, GOAWAY, connection reuse; RFC 9113 §6.8 for which streams were not processed), over our
 * own HTTP/2 client session (http2/client-session.ts — why not node:http2 is said there).
 *
 * - Opens one stream until the server's first SETTINGS arrives (APNs allows one stream until a
 *   request with a valid token was posted, then raises MAX_CONCURRENT_STREAMS), and never more than
 *   the limit the server currently advertises (it may lower it after errors).
 * - GOAWAY: no new stream from that moment; streams above last-stream-id (and those refused with
 *   RST_STREAM REFUSED_STREAM) were not processed and are reported `not-processed` — safe to resend.
 *   The debug data is read leniently as `{"reason":…}` or kept as text.
 * - PING heartbeat with a timeout: a black-holed connection is destroyed rather than waited on.
 * - Per-request timeout: RST_STREAM CANCEL, reported `ambiguous` (APNs may have delivered it).
 * - Closes itself after `idleTimeoutMs` without streams.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http2';
import { type ErrorCode, PushkeeperError } from '../../errors.ts';
import { H2Error, H2ProtocolError } from '../../http2/frames.ts';
import { H2Stream, Http2ClientSession, type SessionListener } from '../../http2/client-session.ts';

export interface WireRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Buffer;
  readonly timeoutMs: number;
}

export interface GoawayInfo {
  readonly errorCode: number;
  readonly lastStreamId: number;
  /** The `reason` of a JSON debug payload, when there was one. */
  readonly reason: string | undefined;
  /** The debug payload as text (truncated), when it was not JSON with a reason. */
  readonly debugText: string | undefined;
}

export type StreamOutcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      /** The same headers as the wire gave them, flat [name, value, …], when the connection has them. */
      readonly fields?: readonly string[] | undefined;
      readonly body: Buffer;
      readonly connectionId: number;
    }
  | {
      /** APNs certainly did not process the request: resending cannot duplicate it. */
      readonly kind: 'not-processed';
      readonly cause:
        | 'refused-stream'
        | 'goaway'
        | 'not-written'
        | 'connect-failed'
        | 'pool-closed'
        | 'credentials-unhealthy'
        /** The pool waited `noStreamsTimeoutMs` while every connection offered zero streams. */
        | 'no-streams';
      readonly goaway?: GoawayInfo | undefined;
      readonly error?: PushkeeperError | undefined;
    }
  | {
      /** The request was written and no answer came: APNs may or may not have delivered it. */
      readonly kind: 'ambiguous';
      readonly cause: 'timeout' | 'connection-lost';
      readonly error?: PushkeeperError | undefined;
    };

export type ConnectionState = 'connecting' | 'ready' | 'draining' | 'closed';

/** What the pool hears from its connections. */
export interface ConnectionListener {
  /** More streams may be opened (a stream ended, the server raised its limit, the session got ready). */
  onCapacity(connection: PoolConnection): void;
  /** The connection will open no more streams (GOAWAY, close, error); its open streams may still end. */
  onDraining(connection: PoolConnection): void;
  /** The session is gone. */
  onClosed(connection: PoolConnection): void;
}

/** The seam between the pool and a connection; tests plug fakes in here. */
export interface PoolConnection {
  readonly id: number;
  readonly state: ConnectionState;
  /** Streams open now. */
  readonly activeStreams: number;
  /** Whether the session ever got past the TLS handshake. */
  readonly everConnected: boolean;
  /** Whether any stream got an answer: tells a dead-on-arrival connection from a worn-out one. */
  readonly everResponded: boolean;
  /** Why it closed, when it was not a plain close. */
  readonly error: PushkeeperError | undefined;
  /** How many more streams may be opened now (0 while connecting, draining or closed). */
  available(): number;
  /** Opens a stream (only when `available()` > 0) and calls `done` exactly once with its outcome. */
  request(request: WireRequest, done: (outcome: StreamOutcome) => void): void;
  close(): Promise<void>;
  destroy(error?: PushkeeperError): void;
}

export interface ApnsConnectionOptions {
  readonly id: number;
  /** `https://host:port` */
  readonly origin: string;
  readonly listener: ConnectionListener;
  /** Extra trusted CA certificates (a mock or a proxy); the system store otherwise. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
  /** Client certificate for certificate-based auth. */
  readonly clientCertificate?: { cert?: string; key?: string; pfx?: Buffer; passphrase?: string } | undefined;
  /** Our own cap on concurrent streams, below whatever the server allows. */
  readonly maxStreams: number;
  readonly connectTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

const CONNECTION_CHANNEL = 'pushkeeper:apns:connection';

const EMPTY_BODY = Buffer.alloc(0);

/** Header names whose values differ per request: kept out of the HPACK dynamic table. */
const VOLATILE_HEADER_NAMES = [':path', 'apns-id', 'apns-expiration', 'apns-collapse-id'];

/** One request on the wire: the session's stream state plus what the connection needs. */
class PendingStream extends H2Stream {
  done: ((outcome: StreamOutcome) => void) | undefined;
  /** Wall-clock ms after which the stream is cancelled. */
  readonly deadline: number;
  timedOut = false;

  constructor(done: (outcome: StreamOutcome) => void, deadline: number) {
    super();
    this.done = done;
    this.deadline = deadline;
  }
}

/** An answer; its header object is built only when asked for (an accepted send reads two fields). */
class ResponseOutcome {
  readonly kind = 'response';
  readonly status: number;
  readonly fields: readonly string[] | undefined;
  readonly body: Buffer;
  readonly connectionId: number;
  #headers: IncomingHttpHeaders | undefined;

  constructor(status: number, fields: readonly string[] | undefined, body: Buffer, connectionId: number) {
    this.status = status;
    this.fields = fields;
    this.body = body;
    this.connectionId = connectionId;
  }

  get headers(): IncomingHttpHeaders {
    this.#headers ??= headerObject(this.fields);
    return this.#headers;
  }
}

/** A response's fields as a header object (no prototype: a header name cannot reach it). */
function headerObject(fields: readonly string[] | undefined): IncomingHttpHeaders {
  const headers = Object.create(null) as Record<string, string>;
  if (fields === undefined) return headers;
  for (let index = 0; index < fields.length; index += 2) {
    const name = fields[index]!;
    const value = fields[index + 1]!;
    const previous = headers[name];
    headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return headers;
}

/** TLS failures get their own code: they need a certificate fix, not a retry. */
function transportError(error: unknown, fallback: ErrorCode, message: string): PushkeeperError {
  if (error instanceof PushkeeperError) return error;
  if (error instanceof H2ProtocolError) {
    // The server broke HTTP/2 and we closed the connection with GOAWAY(errorCode) (RFC 9113 §5.4.1).
    return new PushkeeperError(
      'PK_ERR_APNS_PROTOCOL',
      `${message}: ${error.message}`,
      { http2Error: error.errorCode },
      { cause: error },
    );
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const tls =
    typeof code === 'string' &&
    (code.startsWith('ERR_SSL') ||
      code.startsWith('ERR_TLS') ||
      code.includes('CERT') ||
      code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  const detail = error instanceof Error ? error.message : String(error);
  return new PushkeeperError(
    tls ? 'PK_ERR_APNS_TLS' : fallback,
    `${message}: ${detail}`,
    { cause: code },
    { cause: error },
  );
}

/** APNs sends `{"reason":"BadCertificateEnvironment"}`; it has also been seen sending plain text. */
export function parseGoawayDebug(data: Buffer | undefined): {
  reason: string | undefined;
  debugText: string | undefined;
} {
  if (data === undefined || data.length === 0) return { reason: undefined, debugText: undefined };
  const text = data.subarray(0, 512).toString('utf8');
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { reason?: unknown }).reason === 'string'
    ) {
      return { reason: (parsed as { reason: string }).reason, debugText: undefined };
    }
  } catch {
    // not JSON: keep the text
  }
  return { reason: undefined, debugText: text };
}

export class ApnsConnection implements PoolConnection {
  readonly id: number;
  readonly #options: ApnsConnectionOptions;
  readonly #session: Http2ClientSession;
  /** `:authority` of every request. */
  readonly #authority: string;
  /** Open streams in the order they were opened, which is also deadline order (one timeout per client). */
  readonly #pending = new Set<PendingStream>();
  #sweepTimer: NodeJS.Timeout | undefined;
  readonly #channel = diagnosticsChannel.channel(CONNECTION_CHANNEL);
  #state: ConnectionState = 'connecting';
  /** Until the first SETTINGS frame we may use one stream (APNs: one until authenticated). */
  #serverLimit = 1;
  #settingsSeen = false;
  #goaway: GoawayInfo | undefined;
  #error: PushkeeperError | undefined;
  #everResponded = false;
  #everConnected = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #pingTimeout: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void>;
  #resolveClosed: () => void = () => {};

  constructor(options: ApnsConnectionOptions) {
    this.id = options.id;
    this.#options = options;
    this.#authority = new URL(options.origin).host;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const listener: SessionListener = {
      onConnect: () => this.#onConnect(),
      onRemoteSettings: (maxConcurrentStreams) => this.#onRemoteSettings(maxConcurrentStreams),
      onGoaway: (errorCode, lastStreamId, debug) => this.#onGoaway(errorCode, lastStreamId, debug),
      onPingAck: () => this.#onPingAck(),
      onStreamEnd: (stream) => this.#streamEnded(stream as PendingStream),
      onClose: () => {
        this.#noteSessionError();
        this.#onClose();
      },
    };
    this.#session = new Http2ClientSession({
      origin: options.origin,
      listener,
      // tls.connect resolves the host name afresh for every connection (no DNS cache), as Apple
      // asks: "resolve the host name with an uncached DNS query before each new connection".
      tls: {
        ...(options.ca === undefined ? {} : { ca: options.ca as string | Buffer | Array<string | Buffer> }),
        ...(options.clientCertificate ?? {}),
      },
      volatileHeaderNames: VOLATILE_HEADER_NAMES,
    });
    this.#connectTimer = setTimeout(() => {
      this.destroy(
        new PushkeeperError(
          'PK_ERR_APNS_CONNECTION',
          `No connection to ${options.origin} within ${options.connectTimeoutMs} ms.`,
        ),
      );
    }, options.connectTimeoutMs);
    this.#connectTimer.unref();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get activeStreams(): number {
    return this.#pending.size;
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

  /** The limit currently advertised by the server (1 before its first SETTINGS). */
  get serverLimit(): number {
    return this.#serverLimit;
  }

  available(): number {
    if (this.#state !== 'ready' || !this.#session.canOpenStreams) return 0;
    const limit = Math.min(this.#serverLimit, this.#options.maxStreams);
    return Math.max(0, limit - this.#pending.size);
  }

  request(request: WireRequest, done: (outcome: StreamOutcome) => void): void {
    if (this.#state !== 'ready' || !this.#session.canOpenStreams) {
      done({ kind: 'not-processed', cause: 'not-written', error: this.#error });
      return;
    }
    const headers = request.headers;
    // RFC 9113 §8.3: pseudo-header fields first.
    const fields: string[] = [
      ':method',
      headers[':method'] ?? 'POST',
      ':scheme',
      'https',
      ':authority',
      this.#authority,
      ':path',
      headers[':path'] ?? '/',
    ];
    for (const name in headers) {
      if (name.charCodeAt(0) !== 58 /* ':' */) fields.push(name, headers[name]!);
    }
    const pending = new PendingStream(done, Date.now() + request.timeoutMs);
    this.#clearIdle();
    this.#pending.add(pending);
    this.#armSweep(request.timeoutMs);
    this.#session.request(fields, request.payload, pending);
  }

  /**
   * One timer per connection instead of one per request: every `timeoutMs / 4` the oldest streams
   * are checked; a stream is cancelled between its deadline and a quarter timeout after it.
   */
  #armSweep(timeoutMs: number): void {
    if (this.#sweepTimer !== undefined) return;
    const every = Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4)));
    this.#sweepTimer = setInterval(() => this.#sweep(), every);
    this.#sweepTimer.unref();
  }

  #sweep(): void {
    const now = Date.now();
    const expired: PendingStream[] = [];
    for (const pending of this.#pending) {
      if (pending.deadline > now) break;
      if (!pending.timedOut) expired.push(pending);
    }
    for (const pending of expired) {
      pending.timedOut = true;
      // RST_STREAM CANCEL: we stop waiting; APNs may still deliver what it read.
      this.#session.cancel(pending);
    }
    if (this.#pending.size === 0 && this.#sweepTimer !== undefined) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  close(): Promise<void> {
    if (this.#state === 'closed') return this.#closed;
    this.#drain();
    this.#session.close();
    return this.#closed;
  }

  destroy(error?: PushkeeperError): void {
    if (error !== undefined) this.#error ??= error;
    this.#drain();
    this.#session.destroy(error);
  }

  #publish(event: string, extra: Record<string, unknown> = {}): void {
    if (this.#channel.hasSubscribers) {
      this.#channel.publish({ event, connectionId: this.id, origin: this.#options.origin, ...extra });
    }
  }

  #onConnect(): void {
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    if (this.#state !== 'connecting') return;
    this.#state = 'ready';
    this.#everConnected = true;
    this.#publish('opened');
    if (this.#options.heartbeatMs > 0) {
      this.#heartbeatTimer = setInterval(() => this.#ping(), this.#options.heartbeatMs);
      this.#heartbeatTimer.unref();
    }
    this.#armIdle();
    this.#options.listener.onCapacity(this);
  }

  #onRemoteSettings(maxConcurrentStreams: number): void {
    this.#settingsSeen = true;
    // HTTP/2 default when the setting is absent: unlimited (RFC 9113 §6.5.2).
    this.#serverLimit = maxConcurrentStreams;
    if (this.#state === 'ready') this.#options.listener.onCapacity(this);
  }

  get settingsSeen(): boolean {
    return this.#settingsSeen;
  }

  #onGoaway(errorCode: number, lastStreamId: number, data: Buffer): void {
    const debug = parseGoawayDebug(data);
    this.#goaway = { errorCode, lastStreamId, ...debug };
    // A last-stream-id above 0 says the server processed requests here: a worn-out connection, not
    // a dead one (the pool backs off only for the latter). nghttp2 sends GOAWAY ahead of answers
    // it had queued, so this can come before the first answer does.
    if (lastStreamId > 0) this.#everResponded = true;
    this.#publish('goaway', { errorCode, lastStreamId, reason: debug.reason, debugText: debug.debugText });
    // The pool must stop choosing this connection now, not when the last stream ends.
    this.#drain();
  }

  get goaway(): GoawayInfo | undefined {
    return this.#goaway;
  }

  /** No new streams from now on; tell the pool once. */
  #drain(): void {
    this.#stopTimers();
    if (this.#state === 'ready' || this.#state === 'connecting') {
      this.#state = 'draining';
      this.#options.listener.onDraining(this);
    }
  }

  #streamEnded(pending: PendingStream): void {
    this.#pending.delete(pending);
    if (pending.status !== 0) this.#everResponded = true;
    // Streams end before the session reports its own end: stop handing out streams on a dead
    // session now, or resends issued from these outcomes would land on it again.
    if (this.#session.closed || !this.#session.canOpenStreams) this.#drain();
    const done = pending.done;
    const outcome = this.#outcomeOf(pending);
    // An ended stream that V8 already moved to the old generation would otherwise keep its
    // request, answer and callback chain alive through every young collection until the next
    // full one.
    pending.done = undefined;
    pending.fields = undefined;
    pending.chunks = undefined;
    done?.(outcome);
    if (this.#pending.size === 0) this.#armIdle();
    if (this.#state === 'ready') this.#options.listener.onCapacity(this);
  }

  /** The session's failure as ours; streams that end with the session are reported with it. */
  #noteSessionError(): void {
    const error = this.#session.error;
    if (error === undefined || this.#error !== undefined) return;
    this.#error = transportError(error, 'PK_ERR_APNS_CONNECTION', `Connection ${this.id} to ${this.#options.origin} failed`);
  }

  #outcomeOf(pending: PendingStream): StreamOutcome {
    if (pending.timedOut) {
      return {
        kind: 'ambiguous',
        cause: 'timeout',
        error: new PushkeeperError('PK_ERR_APNS_TIMEOUT', undefined, {
          connectionId: this.id,
          streamId: pending.id,
        }),
      };
    }
    if (pending.end === 'complete') {
      const body =
        pending.chunks === undefined
          ? EMPTY_BODY
          : pending.chunks.length === 1
            ? pending.chunks[0]!
            : Buffer.concat(pending.chunks);
      return new ResponseOutcome(pending.status, pending.fields, body, this.id);
    }
    const goaway = this.#goaway;
    if (pending.end === 'connection-lost') this.#noteSessionError();
    if (pending.end === 'reset' && pending.rstCode === H2Error.REFUSED_STREAM)
      return { kind: 'not-processed', cause: 'refused-stream', goaway };
    // RFC 9113 §6.8: streams above last-stream-id were not and will not be processed.
    if (pending.end === 'goaway' || (goaway !== undefined && pending.id > goaway.lastStreamId)) {
      return { kind: 'not-processed', cause: 'goaway', goaway };
    }
    // The request never reached the socket whole: the server cannot have acted on it.
    if (!pending.requestWritten) return { kind: 'not-processed', cause: 'not-written', error: this.#error };
    const streamError = pending.streamError;
    if (streamError !== undefined) {
      // We reset the stream because its answer broke HTTP/2 (RFC 9113 §5.4.2): the server read the
      // request, so it may have acted on it.
      return {
        kind: 'ambiguous',
        cause: 'connection-lost',
        error: new PushkeeperError(
          'PK_ERR_APNS_PROTOCOL',
          `Stream ${pending.id} on connection ${this.id}: ${streamError.message}`,
          { connectionId: this.id, streamId: pending.id, http2Error: streamError.errorCode },
        ),
      };
    }
    return {
      kind: 'ambiguous',
      cause: 'connection-lost',
      error:
        this.#error ??
        new PushkeeperError(
          'PK_ERR_APNS_CONNECTION',
          `The stream ended without a complete answer (rst ${pending.rstCode ?? 'none'}).`,
          {
            connectionId: this.id,
            goaway:
              goaway === undefined ? undefined : { lastStreamId: goaway.lastStreamId, reason: goaway.reason },
          },
        ),
    };
  }

  #ping(): void {
    if (this.#pingTimeout !== undefined || this.#state !== 'ready') return;
    this.#pingTimeout = setTimeout(() => {
      this.destroy(
        new PushkeeperError(
          'PK_ERR_APNS_CONNECTION',
          `No PING answer within ${this.#options.heartbeatTimeoutMs} ms.`,
        ),
      );
    }, this.#options.heartbeatTimeoutMs);
    this.#pingTimeout.unref();
    this.#session.ping();
  }

  #onPingAck(): void {
    if (this.#pingTimeout !== undefined) clearTimeout(this.#pingTimeout);
    this.#pingTimeout = undefined;
  }

  #armIdle(): void {
    if (this.#options.idleTimeoutMs <= 0 || this.#state !== 'ready') return;
    this.#clearIdle();
    this.#idleTimer = setTimeout(() => {
      if (this.#pending.size === 0) void this.close();
    }, this.#options.idleTimeoutMs);
    this.#idleTimer.unref();
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #stopTimers(): void {
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    // The sweep keeps running while streams are open: a draining connection's streams still time out.
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    if (this.#pingTimeout !== undefined) clearTimeout(this.#pingTimeout);
    this.#connectTimer = undefined;
    this.#heartbeatTimer = undefined;
    this.#pingTimeout = undefined;
    this.#clearIdle();
  }

  #onClose(): void {
    this.#drain();
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#state = 'closed';
    this.#publish('closed', { error: this.#error?.code, message: this.#error?.message });
    this.#options.listener.onClosed(this);
    this.#resolveClosed();
  }
}
