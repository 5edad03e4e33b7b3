/**
 * One HTTP/2 session to one APNs origin (../shared/docs/apns-protocol.md §1.9–1.11, §6.2).
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
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { type ErrorCode, PushkeeperError } from '../errors.ts';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

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
      readonly body: Buffer;
      readonly connectionId: number;
    }
  | {
      /** APNs certainly did not process the request: resending cannot duplicate it. */
      readonly kind: 'not-processed';
      readonly cause: 'refused-stream' | 'goaway' | 'not-written' | 'connect-failed' | 'pool-closed' | 'credentials-unhealthy';
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

interface PendingStream {
  readonly connection: ApnsConnection;
  readonly stream: ClientHttp2Stream;
  readonly done: (outcome: StreamOutcome) => void;
  /** Wall-clock ms after which the stream is cancelled. */
  readonly deadline: number;
  status: number;
  headers: IncomingHttpHeaders | undefined;
  chunks: Buffer[] | undefined;
  timedOut: boolean;
}

const CONNECTION_CHANNEL = 'pushkeeper:apns:connection';

const PENDING = Symbol('pending');
const EMPTY_BODY = Buffer.alloc(0);
type StreamWithState = ClientHttp2Stream & { [PENDING]: PendingStream };

function onResponse(this: ClientHttp2Stream, headers: IncomingHttpHeaders): void {
  const pending = (this as StreamWithState)[PENDING];
  pending.headers = headers;
  pending.status = Number(headers[':status']);
  pending.connection.markResponded();
  // A 200 has no body (Apple: HEADERS with END_STREAM); only rejections are read, which keeps the
  // hot path out of the stream machinery.
  if (pending.status !== 200) this.on('data', onData);
}

function onData(this: ClientHttp2Stream, chunk: Buffer): void {
  const pending = (this as StreamWithState)[PENDING];
  // Bodies are small JSON objects; cap what we keep so a broken server cannot make us hoard.
  if (pending.chunks === undefined) pending.chunks = [chunk];
  else if (pending.chunks.length < 16) pending.chunks.push(chunk);
}

function ignoreError(): void {
  // Reported through 'close' and the stream's rstCode.
}

function onStreamClose(this: ClientHttp2Stream): void {
  const pending = (this as StreamWithState)[PENDING];
  pending.connection.streamClosed(pending);
}

/** TLS failures get their own code: they need a certificate fix, not a retry. */
function transportError(error: unknown, fallback: ErrorCode, message: string): PushkeeperError {
  if (error instanceof PushkeeperError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const tls =
    typeof code === 'string' &&
    (code.startsWith('ERR_SSL') ||
      code.startsWith('ERR_TLS') ||
      code.includes('CERT') ||
      code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  const detail = error instanceof Error ? error.message : String(error);
  return new PushkeeperError(tls ? 'PK_ERR_APNS_TLS' : fallback, `${message}: ${detail}`, { cause: code }, { cause: error });
}

/** APNs sends `{"reason":"BadCertificateEnvironment"}`; it has also been seen sending plain text. */
export function parseGoawayDebug(data: Buffer | undefined): { reason: string | undefined; debugText: string | undefined } {
  if (data === undefined || data.length === 0) return { reason: undefined, debugText: undefined };
  const text = data.subarray(0, 512).toString('utf8');
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { reason?: unknown }).reason === 'string') {
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
  readonly #session: ClientHttp2Session;
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

  constructor(options: ApnsConnectionOptions) {
    this.id = options.id;
    this.#options = options;
    const tls: http2.SecureClientSessionOptions = {
      // Node resolves the host name afresh for every connect (no DNS cache), as Apple asks:
      // "resolve the host name with an uncached DNS query before each new connection".
      ...(options.ca === undefined ? {} : { ca: options.ca as string | Buffer | Array<string | Buffer> }),
      ...(options.clientCertificate ?? {}),
      settings: { enablePush: false },
    };
    this.#session = http2.connect(options.origin, tls);
    const session = this.#session;
    this.#closed = new Promise((resolve) => session.once('close', () => resolve()));
    this.#connectTimer = setTimeout(() => {
      this.destroy(new PushkeeperError('PK_ERR_APNS_CONNECTION', `No connection to ${options.origin} within ${options.connectTimeoutMs} ms.`));
    }, options.connectTimeoutMs);
    this.#connectTimer.unref();
    session.once('connect', () => this.#onConnect());
    session.on('remoteSettings', (settings) => this.#onRemoteSettings(settings));
    session.on('goaway', (errorCode, lastStreamId, data) => this.#onGoaway(errorCode, lastStreamId, data));
    session.on('error', (error) => {
      this.#error ??= transportError(error, 'PK_ERR_APNS_CONNECTION', `Connection ${this.id} to ${options.origin} failed`);
    });
    session.once('close', () => this.#onClose());
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
    if (this.#state !== 'ready' || this.#session.destroyed) return 0;
    const limit = Math.min(this.#serverLimit, this.#options.maxStreams);
    return Math.max(0, limit - this.#pending.size);
  }

  request(request: WireRequest, done: (outcome: StreamOutcome) => void): void {
    if (this.#state !== 'ready') {
      done({ kind: 'not-processed', cause: 'not-written', error: this.#error });
      return;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = this.#session.request(request.headers, { endStream: false });
    } catch (error) {
      done({ kind: 'not-processed', cause: 'not-written', error: transportError(error, 'PK_ERR_APNS_CONNECTION', 'Could not open a stream') });
      return;
    }
    this.#clearIdle();
    const pending: PendingStream = {
      connection: this,
      stream,
      done,
      deadline: Date.now() + request.timeoutMs,
      status: 0,
      headers: undefined,
      chunks: undefined,
      timedOut: false,
    };
    this.#pending.add(pending);
    this.#armSweep(request.timeoutMs);
    // Shared listeners (no closures per request); they find their state through the stream.
    (stream as StreamWithState)[PENDING] = pending;
    stream.on('response', onResponse);
    stream.on('error', ignoreError);
    stream.on('close', onStreamClose);
    stream.end(request.payload);
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
    for (const pending of this.#pending) {
      if (pending.deadline > now) break;
      if (pending.timedOut) continue;
      pending.timedOut = true;
      // RST_STREAM CANCEL: we stop waiting; APNs may still deliver what it read.
      if (!pending.stream.destroyed) pending.stream.close(NGHTTP2_CANCEL);
    }
    if (this.#pending.size === 0 && this.#sweepTimer !== undefined) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  close(): Promise<void> {
    if (this.#state === 'closed') return this.#closed;
    this.#drain();
    if (!this.#session.closed && !this.#session.destroyed) this.#session.close();
    return this.#closed;
  }

  destroy(error?: PushkeeperError): void {
    if (error !== undefined) this.#error ??= error;
    this.#drain();
    if (!this.#session.destroyed) this.#session.destroy();
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

  #onRemoteSettings(settings: http2.Settings): void {
    this.#settingsSeen = true;
    // HTTP/2 default when the setting is absent: unlimited (RFC 9113 §6.5.2).
    this.#serverLimit = settings.maxConcurrentStreams ?? Number.MAX_SAFE_INTEGER;
    if (this.#state === 'ready') this.#options.listener.onCapacity(this);
  }

  get settingsSeen(): boolean {
    return this.#settingsSeen;
  }

  #onGoaway(errorCode: number, lastStreamId: number, data: Buffer | undefined): void {
    const debug = parseGoawayDebug(data);
    this.#goaway = { errorCode, lastStreamId, ...debug };
    this.#publish('goaway', { errorCode, lastStreamId, reason: debug.reason, debugText: debug.debugText });
    // Node closes the session itself (gracefully for NO_ERROR, at once otherwise); the pool must
    // stop choosing this connection now, not when the last stream ends.
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

  /** @internal called by the shared stream listeners */
  markResponded(): void {
    this.#everResponded = true;
  }

  /** @internal called by the shared stream listeners */
  streamClosed(pending: PendingStream): void {
    this.#pending.delete(pending);
    // Streams close before the session reports its own end: stop handing out streams on a dead
    // session now, or resends issued from these outcomes would land on it again.
    if (this.#session.destroyed || this.#session.closed) this.#drain();
    pending.done(this.#outcomeOf(pending));
    if (this.#pending.size === 0) this.#armIdle();
    if (this.#state === 'ready') this.#options.listener.onCapacity(this);
  }

  #outcomeOf(pending: PendingStream): StreamOutcome {
    const { stream } = pending;
    if (pending.timedOut) {
      return {
        kind: 'ambiguous',
        cause: 'timeout',
        error: new PushkeeperError('PK_ERR_APNS_TIMEOUT', undefined, { connectionId: this.id, streamId: stream.id }),
      };
    }
    if (pending.headers !== undefined && (pending.status === 200 || stream.readableEnded)) {
      const body = pending.chunks === undefined ? EMPTY_BODY : Buffer.concat(pending.chunks);
      return { kind: 'response', status: pending.status, headers: pending.headers, body, connectionId: this.id };
    }
    const goaway = this.#goaway;
    if (stream.rstCode === NGHTTP2_REFUSED_STREAM) return { kind: 'not-processed', cause: 'refused-stream', goaway };
    // RFC 9113 §6.8: streams above last-stream-id were not and will not be processed.
    if (goaway !== undefined && (stream.id === undefined || stream.id > goaway.lastStreamId)) {
      return { kind: 'not-processed', cause: 'goaway', goaway };
    }
    if (stream.id === undefined || stream.pending) {
      return { kind: 'not-processed', cause: 'not-written', error: this.#error };
    }
    return {
      kind: 'ambiguous',
      cause: 'connection-lost',
      error:
        this.#error ??
        new PushkeeperError('PK_ERR_APNS_CONNECTION', `The stream ended without a complete answer (rst ${stream.rstCode ?? 'none'}).`, {
          connectionId: this.id,
          goaway: goaway === undefined ? undefined : { lastStreamId: goaway.lastStreamId, reason: goaway.reason },
        }),
    };
  }

  #ping(): void {
    if (this.#pingTimeout !== undefined || this.#state !== 'ready') return;
    this.#pingTimeout = setTimeout(() => {
      this.destroy(new PushkeeperError('PK_ERR_APNS_CONNECTION', `No PING answer within ${this.#options.heartbeatTimeoutMs} ms.`));
    }, this.#options.heartbeatTimeoutMs);
    this.#pingTimeout.unref();
    try {
      this.#session.ping((error) => {
        if (this.#pingTimeout !== undefined) clearTimeout(this.#pingTimeout);
        this.#pingTimeout = undefined;
        if (error) this.destroy(transportError(error, 'PK_ERR_APNS_CONNECTION', 'PING failed'));
      });
    } catch (error) {
      this.destroy(transportError(error, 'PK_ERR_APNS_CONNECTION', 'PING failed'));
    }
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
  }
}
