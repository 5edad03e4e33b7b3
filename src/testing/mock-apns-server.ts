/**
 * A stand-in for APNs' HTTP/2 provider API (Apple, "Sending notification requests to APNs",
 * "Handling notification responses from APNs", and the two "Establishing a … connection" pages), used by
 * our tests and shipped as `pushkeeper/testing`. It shares no code with our client: it is the
 * oracle the client is judged against.
 *
 * Transport notes (Node 24):
 * - ALPN `h2` works through `http2.createSecureServer`. A client that offers no ALPN at all
 *   ("prior knowledge", pushy's default) would be handed to the server's 'unknownProtocol' event
 *   and dropped; we take over the server's connection listener (startMockApnsServer) and admit
 *   it as HTTP/2. A client offering only `http/1.1` is refused by the TLS layer (no protocol
 *   overlap).
 * - Client certificates are requested but optional (certificate mode vs token mode per connection).
 * - Some faults need frames Node will not produce; see frame-filter.ts.
 */
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Environment } from '../domain/index.ts';
import { isCanonicalUuid } from '../domain/index.ts';
import { type ProviderCertificate, readProviderCertificate } from './client-certificate.ts';
import { DeviceRegistry } from './device-registry.ts';
import { DEFAULT_FAULT_SEED, type Random, seededRandom } from './fault-random.ts';
import { FrameFilter, goAwayFrame } from './frame-filter.ts';
import type {
  MockApnsServer,
  MockApnsServerOptions,
  MockApnsStats,
  MockFaults,
  MockRequest,
  MockResponse,
  MockSigningKey,
  RecordedNotification,
  RecordedRejection,
} from './mock-apns-types.ts';
import { type RegisteredSigningKey, toRegisteredKey, type VerifiedProviderToken } from './provider-token.ts';
import { type ConnectionAuthState, DEVICE_PATH_PREFIX, validatePush } from './push-validation.ts';
import { createTestPki } from './test-pki.ts';

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;

interface Connection {
  readonly id: number;
  readonly session: http2.ServerHttp2Session;
  readonly socket: TLSSocket;
  readonly auth: ConnectionAuthState;
  readonly certificateEnvironments: readonly Environment[];
  openStreams: number;
  maxOpenStreams: number;
  streamsSeen: number;
  lastStreamId: number;
  advertisedLimit: number;
  limitDropped: boolean;
  goingAway: { lastStreamId: number } | undefined;
  firstRequestHandled: boolean;
  readonly unanswered: Set<http2.ServerHttp2Stream>;
  readonly filter: FrameFilter | undefined;
  /** After a GOAWAY below the last stream seen: end the socket once the streams it kept are answered. */
  endWhenDrained: boolean;
  /** The session's 'close': it can come after the server's own close callback. */
  readonly closed: Promise<void>;
}

interface Waiter {
  readonly count: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** The largest APNs payload (voip, 5120 bytes) plus one, so an oversized body is still seen as such. */
const MAX_KEPT_PAYLOAD_BYTES = 5121;

/** Observed APNs SETTINGS (reported in https://github.com/jchambers/pushy/issues/878) besides MAX_CONCURRENT_STREAMS. */
const APNS_SETTINGS: http2.Settings = {
  headerTableSize: 4096,
  initialWindowSize: 65535,
  maxFrameSize: 16384,
  maxHeaderListSize: 8000,
};

/** What an accepted request adds to its record besides the request itself. */
type AcceptedFields = Omit<
  RecordedNotification,
  'apnsId' | 'headers' | 'payload' | 'connectionId' | 'streamId' | 'at'
>;

/** A server stream always has an id once the 'stream' event fired. */
function streamIdOf(stream: http2.ServerHttp2Stream): number {
  return stream.id ?? 0;
}

class MockApnsServerImpl implements MockApnsServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
  readonly environment: Environment;

  readonly #server: http2.Http2SecureServer;
  readonly #mode: 'validating' | 'accept-all';
  readonly #initialLimit: number;
  readonly #maxLimit: number;
  readonly #now: () => number;
  readonly #recordAccepted: boolean;
  readonly #idleTimeoutMs: number | undefined;
  readonly #keys = new Map<string, RegisteredSigningKey>();
  readonly #verifiedTokens = new Map<string, VerifiedProviderToken>();
  readonly #devices = new DeviceRegistry();
  readonly #connections = new Map<number, Connection>();
  readonly #delayed = new Map<NodeJS.Timeout, () => void>();
  readonly #waiters = new Set<Waiter>();
  #faults: MockFaults = {};
  #random: Random = seededRandom(DEFAULT_FAULT_SEED);
  #hook: ((request: MockRequest) => MockResponse | undefined) | undefined;
  #nextConnectionId = 1;
  #closing: Promise<void> | undefined;

  #accepted: RecordedNotification[] = [];
  #rejections: RecordedRejection[] = [];
  #acceptedCount = 0;
  #acceptanceByApnsId = new Map<string, number>();
  #stats = this.#emptyStats();

  constructor(
    server: http2.Http2SecureServer,
    address: AddressInfo,
    caPem: string,
    options: MockApnsServerOptions,
  ) {
    this.#server = server;
    this.host = address.address;
    this.port = address.port;
    this.url = `https://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    this.caPem = caPem;
    this.environment = options.environment ?? 'production';
    this.#mode = options.mode ?? 'validating';
    this.#initialLimit = options.initialMaxConcurrentStreams ?? 1;
    this.#maxLimit = options.maxConcurrentStreams ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#recordAccepted = options.recordAccepted ?? this.#mode === 'validating';
    this.#idleTimeoutMs = options.idleTimeoutMs;
    for (const key of options.signingKeys ?? []) this.addSigningKey(key);
    this.setFaults(options.faults ?? {});
  }

  #emptyStats() {
    return {
      connectionsOpened: 0,
      requests: 0,
      maxObservedConcurrency: 0,
      maxConcurrencyByConnection: new Map<number, number>(),
      advertisedLimitByConnection: new Map<number, number>(),
      distinctIats: new Set<number>(),
      pingsAnswered: 0,
      pingsIgnored: 0,
      unansweredStreams: 0,
      goAwaysSent: 0,
      sessionsDestroyed: 0,
    };
  }

  // --- setup -------------------------------------------------------------------------------------

  addSigningKey(key: MockSigningKey): void {
    this.#keys.set(key.keyId, toRegisteredKey(key));
  }

  removeSigningKey(keyId: string): void {
    this.#keys.delete(keyId);
  }

  registerDevice(token: string, options: { topic: string; environment?: Environment }): void {
    this.#devices.register(token, options.topic, options.environment ?? this.environment);
  }

  unregisterDevice(
    token: string,
    timestampMs: number,
    reason: 'Unregistered' | 'ExpiredToken' = 'Unregistered',
  ): void {
    this.#devices.unregister(token, timestampMs, reason);
  }

  setFaults(faults: MockFaults): void {
    this.#faults = faults;
    this.#random = seededRandom(faults.faultSeed ?? DEFAULT_FAULT_SEED);
  }

  respondWith(hook: ((request: MockRequest) => MockResponse | undefined) | undefined): void {
    this.#hook = hook;
  }

  // --- records -----------------------------------------------------------------------------------

  get accepted(): readonly RecordedNotification[] {
    return this.#accepted;
  }

  get rejections(): readonly RecordedRejection[] {
    return this.#rejections;
  }

  get acceptedCount(): number {
    return this.#acceptedCount;
  }

  get stats(): MockApnsStats {
    return this.#stats;
  }

  get openConnections(): number {
    return this.#connections.size;
  }

  acceptanceCount(apnsId: string): number {
    return this.#acceptanceByApnsId.get(apnsId) ?? 0;
  }

  waitForAccepted(count: number, timeoutMs = 5000): Promise<void> {
    if (this.#acceptedCount >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        count,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(
            new Error(
              `Mock APNs: ${this.#acceptedCount} of ${count} notifications accepted after ${timeoutMs} ms.`,
            ),
          );
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  resetRecords(): void {
    this.#accepted = [];
    this.#rejections = [];
    this.#acceptedCount = 0;
    this.#acceptanceByApnsId = new Map();
    const connectionsOpened = this.#stats.connectionsOpened;
    this.#stats = this.#emptyStats();
    this.#stats.connectionsOpened = connectionsOpened;
  }

  // --- connections -------------------------------------------------------------------------------

  /**
   * Called with the TLS socket once the handshake is done, before the HTTP/2 session exists: the
   * frame filter is inserted only for connections that need it (frame-filter.ts).
   */
  wrapSocket(socket: TLSSocket): Duplex {
    const faults = this.#faults;
    const dropPings = faults.ignorePings === true;
    const needsFinalGoAway =
      (faults.goAwayOnFirstRequest !== undefined && (faults.goAwayOnFirstRequest.lastStreamId ?? 0) === 0) ||
      this.#wrongEnvironment(this.#peerCertificate(socket).certificate?.environments ?? []);
    if (!dropPings && !needsFinalGoAway) return socket;
    return new FrameFilter(socket, { dropPings, onPingDropped: () => this.#stats.pingsIgnored++ });
  }

  #peerCertificate(socket: TLSSocket): { certificate: ProviderCertificate | undefined; rejected: boolean } {
    const peer = socket.getPeerX509Certificate?.();
    if (peer === undefined) return { certificate: undefined, rejected: false };
    const certificate = socket.authorized ? readProviderCertificate(peer.raw) : undefined;
    return { certificate, rejected: certificate === undefined };
  }

  /** A certificate marked for environments, none of them this server's (no marker: not checked). */
  #wrongEnvironment(environments: readonly Environment[]): boolean {
    return environments.length > 0 && !environments.includes(this.environment);
  }

  addSession(session: http2.ServerHttp2Session, socket: TLSSocket, transport: Duplex): void {
    const filter = transport instanceof FrameFilter ? transport : undefined;
    const id = this.#nextConnectionId++;
    const peer = this.#peerCertificate(socket);
    const certificate = peer.certificate;
    const certificateRejected = peer.rejected;
    const connection: Connection = {
      id,
      session,
      socket,
      auth: {
        certificate,
        certificateRejected,
        boundTeamId: undefined,
        boundKeyId: undefined,
        currentToken: undefined,
        currentTokenSinceMs: 0,
        authenticated: false,
      },
      certificateEnvironments: certificate?.environments ?? [],
      openStreams: 0,
      maxOpenStreams: 0,
      streamsSeen: 0,
      lastStreamId: 0,
      advertisedLimit: this.#initialLimit,
      limitDropped: false,
      goingAway: undefined,
      firstRequestHandled: false,
      unanswered: new Set(),
      filter,
      endWhenDrained: false,
      closed: new Promise<void>((resolve) => session.once('close', () => resolve())),
    };
    this.#connections.set(id, connection);
    this.#stats.connectionsOpened++;
    this.#stats.advertisedLimitByConnection.set(id, this.#initialLimit);
    this.#stats.maxConcurrencyByConnection.set(id, 0);
    session.on('error', () => {});
    // A client that resets its connection (ECONNRESET) is a case the mock serves, not a crash of the
    // process hosting it: once the session has let go of the socket, its errors would go unheard.
    socket.on('error', () => {});
    // nghttp2 acknowledges every PING it sees; dropped ones never reach it (frame-filter.ts).
    session.on('ping', () => {
      this.#stats.pingsAnswered++;
    });
    session.on('close', () => {
      this.#connections.delete(id);
    });
    session.on('stream', (stream, headers, _flags, rawHeaders) => {
      this.#onStream(connection, stream, headers, rawHeaders);
    });
    if (this.#idleTimeoutMs !== undefined) {
      // Apple lists IdleTimeout among the reasons; like APNs, say it in a GOAWAY and close.
      session.setTimeout(this.#idleTimeoutMs, () => {
        this.#goAway(connection, connection.lastStreamId, JSON.stringify({ reason: 'IdleTimeout' }));
      });
    }
    if (this.#closing !== undefined) session.close();
  }

  /**
   * APNs reports a certificate for the wrong environment only by a GOAWAY after the first request,
   * with last-stream-id 0 (reported in
   * https://github.com/sideshow/apns2/issues/93); otherwise the scripted reason.
   */
  #firstRequestGoAwayReason(connection: Connection): string {
    if (this.#wrongEnvironment(connection.certificateEnvironments)) return 'BadCertificateEnvironment';
    return this.#faults.goAwayOnFirstRequest?.reason ?? 'Shutdown';
  }

  #setLimit(connection: Connection, limit: number): void {
    if (connection.advertisedLimit === limit || connection.session.closed || connection.session.destroyed)
      return;
    connection.advertisedLimit = limit;
    this.#stats.advertisedLimitByConnection.set(connection.id, limit);
    try {
      connection.session.settings({ maxConcurrentStreams: limit });
    } catch {
      // The session went away between the check and the call; nothing to advertise to.
    }
  }

  #goAway(connection: Connection, lastStreamId: number, debug: string): void {
    if (connection.session.closed || connection.session.destroyed || connection.goingAway !== undefined)
      return;
    connection.goingAway = { lastStreamId };
    this.#stats.goAwaysSent++;
    if (lastStreamId === 0 && connection.filter !== undefined) {
      // Node would send the last processed stream instead of 0 (frame-filter.ts).
      for (const stream of connection.unanswered) this.#refuse(connection, stream);
      connection.filter.endWith(goAwayFrame(0, NGHTTP2_NO_ERROR, Buffer.from(debug)));
      return;
    }
    connection.session.goaway(NGHTTP2_NO_ERROR, lastStreamId, Buffer.from(debug));
    // Streams the GOAWAY declared unprocessed are refused rather than answered.
    for (const stream of connection.unanswered) {
      if (streamIdOf(stream) > lastStreamId) this.#refuse(connection, stream);
    }
    if (lastStreamId >= connection.lastStreamId) {
      // session.close() sends Node's own GOAWAY with the last processed stream: equal here, so allowed.
      connection.session.close();
    } else {
      // A second GOAWAY with a higher last-stream-id is a protocol error (RFC 9113 §6.8): end the
      // TLS socket ourselves once the streams at or below last-stream-id are answered.
      connection.endWhenDrained = true;
      this.#endIfDrained(connection);
    }
  }

  #endIfDrained(connection: Connection): void {
    if (!connection.endWhenDrained || connection.openStreams > 0) return;
    connection.endWhenDrained = false;
    // nghttp2 hands its last frames (answers, the GOAWAY) to the socket from a native immediate
    // callback; end the socket after that has run so they go out before the FIN.
    setImmediate(() => setImmediate(() => connection.socket.end()));
  }

  #refuse(connection: Connection, stream: http2.ServerHttp2Stream): void {
    connection.unanswered.delete(stream);
    if (!stream.closed && !stream.destroyed) stream.close(NGHTTP2_REFUSED_STREAM);
  }

  goAwayAll(options: { reason?: string; lastStreamId?: number } = {}): void {
    for (const connection of this.#connections.values()) {
      const debug = JSON.stringify({ reason: options.reason ?? 'Shutdown' });
      this.#goAway(connection, options.lastStreamId ?? connection.lastStreamId, debug);
    }
  }

  destroyConnections(): void {
    for (const connection of this.#connections.values()) {
      this.#stats.sessionsDestroyed++;
      connection.socket.destroy();
    }
  }

  // --- requests ----------------------------------------------------------------------------------

  #onStream(
    connection: Connection,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
  ): void {
    this.#stats.requests++;
    connection.openStreams++;
    connection.streamsSeen++;
    connection.lastStreamId = Math.max(connection.lastStreamId, streamIdOf(stream));
    if (connection.openStreams > connection.maxOpenStreams) {
      connection.maxOpenStreams = connection.openStreams;
      this.#stats.maxConcurrencyByConnection.set(connection.id, connection.openStreams);
      if (connection.openStreams > this.#stats.maxObservedConcurrency) {
        this.#stats.maxObservedConcurrency = connection.openStreams;
      }
    }
    connection.unanswered.add(stream);
    stream.on('error', () => {});
    stream.on('close', () => {
      connection.openStreams--;
      connection.unanswered.delete(stream);
      this.#endIfDrained(connection);
    });
    if (connection.goingAway !== undefined && streamIdOf(stream) > connection.goingAway.lastStreamId) {
      this.#refuse(connection, stream);
      return;
    }
    const goAwayEvery = this.#faults.goAwayAfterStreams;
    if (goAwayEvery !== undefined && connection.streamsSeen % goAwayEvery.every === 0) {
      const last = Math.max(0, streamIdOf(stream) - (goAwayEvery.lastStreamIdBehind ?? 0));
      // Debug data: APNs sends JSON {"reason":…} ("Handling notification responses from APNs").
      this.#goAway(connection, last, goAwayEvery.debug ?? JSON.stringify({ reason: 'Shutdown' }));
      if (streamIdOf(stream) > last) return;
    }

    if (this.#mode === 'accept-all') {
      stream.resume();
      stream.on('end', () => this.#acceptAll(connection, stream, headers));
      return;
    }
    // Keep at most one byte more than any push type allows: enough to answer PayloadTooLarge,
    // without buffering whatever a broken client streams at us.
    const chunks: Buffer[] = [];
    let kept = 0;
    stream.on('data', (chunk: Buffer) => {
      if (kept > MAX_KEPT_PAYLOAD_BYTES) return;
      chunks.push(chunk);
      kept += chunk.length;
    });
    stream.on('end', () => this.#handle(connection, stream, headers, rawHeaders, Buffer.concat(chunks)));
  }

  #acceptAll(
    connection: Connection,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ): void {
    this.#setLimit(connection, this.#maxLimit);
    const requested = headers['apns-id'];
    const apnsId = typeof requested === 'string' && isCanonicalUuid(requested) ? requested : randomUUID();
    this.#countAcceptance(apnsId);
    if (this.#recordAccepted) {
      // Opt-in for sink mode (latency benchmarks): arrival time and headers, no payload kept.
      const path = String(headers[':path'] ?? '');
      this.#accepted.push({
        apnsId,
        token: path.startsWith('/3/device/') ? path.slice('/3/device/'.length) : '',
        topic: String(headers['apns-topic'] ?? ''),
        pushType: String(headers['apns-push-type'] ?? ''),
        priority: Number(headers['apns-priority'] ?? 10),
        headers,
        payload: Buffer.alloc(0),
        connectionId: connection.id,
        streamId: streamIdOf(stream),
        at: this.#now(),
      });
    }
    this.#send(connection, stream, apnsId, { status: 200 });
  }

  #handle(
    connection: Connection,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
    payload: Buffer,
  ): void {
    const faults = this.#faults;
    const firstRequest = !connection.firstRequestHandled;
    connection.firstRequestHandled = true;
    if (firstRequest) {
      const certificateEnvironmentWrong = this.#wrongEnvironment(connection.certificateEnvironments);
      if (certificateEnvironmentWrong || faults.goAwayOnFirstRequest !== undefined) {
        // For a connection opened before the fault was set there is no frame filter, and Node
        // turns a last-stream-id of 0 into this stream's id.
        const last = certificateEnvironmentWrong ? 0 : (faults.goAwayOnFirstRequest?.lastStreamId ?? 0);
        this.#goAway(
          connection,
          last,
          JSON.stringify({ reason: this.#firstRequestGoAwayReason(connection) }),
        );
        if (streamIdOf(stream) > last) return;
      }
    }
    if (faults.destroySessionRate !== undefined && this.#random() < faults.destroySessionRate) {
      this.#stats.sessionsDestroyed++;
      connection.socket.destroy();
      return;
    }
    if (faults.neverRespondRate !== undefined && this.#random() < faults.neverRespondRate) {
      this.#stats.unansweredStreams++;
      return;
    }

    const requestedId = headers['apns-id'];
    const apnsId =
      typeof requestedId === 'string' && isCanonicalUuid(requestedId) ? requestedId : randomUUID();
    const method = String(headers[':method'] ?? '');
    const path = String(headers[':path'] ?? '');
    const token = path.startsWith(DEVICE_PATH_PREFIX)
      ? path.slice(DEVICE_PATH_PREFIX.length).toLowerCase()
      : '';
    const now = this.#now();
    const { response, accepted } = this.#decide(connection, {
      connectionId: connection.id,
      streamId: streamIdOf(stream),
      method,
      path,
      token,
      headers,
      payload,
      rawHeaders,
      nowMs: now,
    });

    if (response.status === 200) {
      if (connection.limitDropped) {
        connection.limitDropped = false;
        this.#setLimit(connection, this.#maxLimit);
      } else if (this.#hook !== undefined) {
        this.#setLimit(connection, this.#maxLimit);
      }
    } else if (faults.dropStreamLimitAfterRejection === true && response.status !== 410) {
      // Observed on APNs (openradar 27870881): one stream after a rejection until the next success.
      connection.limitDropped = true;
      this.#setLimit(connection, 1);
    }

    const finalResponse = response;
    const deliver = () => {
      // A stream that GOAWAY declared unprocessed (or that is gone) is not answered, so neither
      // counted nor recorded: counting it would report a notification APNs never processed.
      if (this.#refuseIfUnanswerable(connection, stream)) return;
      if (finalResponse.status === 200) {
        this.#countAcceptance(apnsId);
        if (this.#recordAccepted && accepted !== undefined) {
          this.#accepted.push({
            apnsId,
            ...accepted,
            headers,
            payload,
            connectionId: connection.id,
            streamId: streamIdOf(stream),
            at: now,
          });
        }
      } else {
        this.#rejections.push({
          apnsId,
          token,
          status: finalResponse.status,
          reason: finalResponse.reason ?? '',
          ...(finalResponse.timestamp === undefined ? {} : { timestampMs: finalResponse.timestamp }),
          connectionId: connection.id,
          at: now,
        });
      }
      this.#send(connection, stream, apnsId, finalResponse);
    };
    const delay = faults.delayMs;
    if (delay === undefined || this.#closing !== undefined) {
      deliver();
      return;
    }
    const ms = delay.min + this.#random() * Math.max(0, delay.max - delay.min);
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      deliver();
    }, ms);
    this.#delayed.set(timer, deliver);
  }

  /** The answer to one fully read request: status window, else the hook, else validation. */
  #decide(
    connection: Connection,
    request: MockRequest & { readonly rawHeaders: string[]; readonly nowMs: number },
  ): { response: MockResponse; accepted?: AcceptedFields } {
    const { headers, nowMs } = request;
    const window = this.#faults.statusWindow;
    if (window !== undefined && nowMs < window.untilMs) {
      const retryAfter = window.retryAfterSeconds;
      return {
        response: {
          status: window.status,
          reason: window.reason,
          ...(retryAfter === undefined ? {} : { headers: { 'retry-after': String(retryAfter) } }),
        },
      };
    }
    if (this.#hook !== undefined) {
      let response: MockResponse | undefined;
      try {
        const { rawHeaders: _raw, nowMs: _now, ...visible } = request;
        response = this.#hook(visible);
      } catch {
        // As pushy's mock does for a failing handler: the request gets APNs' generic 500.
        response = { status: 500, reason: 'InternalServerError' };
      }
      if (response !== undefined) {
        if (response.status !== 200) return { response };
        const accepted: AcceptedFields = {
          token: request.token,
          topic: String(headers['apns-topic'] ?? ''),
          pushType: String(headers['apns-push-type'] ?? ''),
          priority: Number(headers['apns-priority'] ?? 10),
        };
        return { response, accepted };
      }
    }
    const verdict = validatePush(request, connection.auth, {
      environment: this.environment,
      keys: this.#keys,
      devices: this.#devices,
      nowMs,
      verifiedTokens: this.#verifiedTokens,
      onTokenIat: (iat) => this.#stats.distinctIats.add(iat),
    });
    if (verdict.authenticated && !connection.limitDropped) this.#setLimit(connection, this.#maxLimit);
    if (!('topic' in verdict)) {
      const { status, reason, timestamp } = verdict;
      return { response: { status, reason, ...(timestamp === undefined ? {} : { timestamp }) } };
    }
    const accepted: AcceptedFields = {
      token: verdict.token,
      topic: verdict.topic,
      pushType: verdict.pushType,
      priority: verdict.priority,
      ...(verdict.expiration === undefined ? {} : { expiration: verdict.expiration }),
      ...(verdict.collapseId === undefined ? {} : { collapseId: verdict.collapseId }),
    };
    return { response: { status: 200 }, accepted };
  }

  #countAcceptance(apnsId: string): void {
    this.#acceptedCount++;
    // Counts per apns-id (for duplicate checks) grow with every notification: an accept-all sink
    // that records nothing keeps none, so a benchmark of millions runs in flat memory.
    if (this.#mode === 'validating' || this.#recordAccepted) {
      this.#acceptanceByApnsId.set(apnsId, (this.#acceptanceByApnsId.get(apnsId) ?? 0) + 1);
    }
    for (const waiter of this.#waiters) {
      if (this.#acceptedCount >= waiter.count) {
        clearTimeout(waiter.timer);
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** True when the stream gets no answer: it is gone, or above a GOAWAY's last-stream-id (refused). */
  #refuseIfUnanswerable(connection: Connection, stream: http2.ServerHttp2Stream): boolean {
    if (stream.closed || stream.destroyed) {
      connection.unanswered.delete(stream);
      return true;
    }
    if (connection.goingAway !== undefined && streamIdOf(stream) > connection.goingAway.lastStreamId) {
      connection.unanswered.delete(stream);
      this.#refuse(connection, stream);
      return true;
    }
    return false;
  }

  #send(
    connection: Connection,
    stream: http2.ServerHttp2Stream,
    apnsId: string,
    response: MockResponse,
  ): void {
    if (this.#refuseIfUnanswerable(connection, stream)) return;
    connection.unanswered.delete(stream);
    const headers: http2.OutgoingHttpHeaders = {
      ':status': response.status,
      'apns-id': apnsId,
      ...response.headers,
    };
    // Apple's development environment adds apns-unique-id for the Push Notifications Console.
    if (this.environment === 'sandbox') headers['apns-unique-id'] = randomUUID();
    try {
      if (response.status === 200) {
        stream.respond(headers, { endStream: true });
        return;
      }
      headers['content-type'] = 'application/json';
      stream.respond(headers);
      stream.end(
        JSON.stringify({
          reason: response.reason ?? '',
          ...(response.timestamp === undefined ? {} : { timestamp: response.timestamp }),
        }),
      );
    } catch {
      // The stream was reset by the client while we answered; nothing to deliver to.
    }
  }

  // --- lifecycle ---------------------------------------------------------------------------------

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = new Promise<void>((resolve) => {
      // Drain: delayed answers go out now; never-answered streams are cancelled.
      for (const [timer, deliver] of this.#delayed) {
        clearTimeout(timer);
        deliver();
      }
      this.#delayed.clear();
      for (const connection of this.#connections.values()) {
        for (const stream of connection.unanswered) {
          if (!stream.closed && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
        }
        connection.unanswered.clear();
        // After a GOAWAY below the last stream, Node's closing GOAWAY would raise the id (see #goAway).
        if (connection.goingAway === undefined) connection.session.close();
        else {
          connection.endWhenDrained = true;
          this.#endIfDrained(connection);
        }
      }
      const stragglers = setTimeout(() => {
        for (const connection of this.#connections.values()) connection.socket.destroy();
      }, 2000);
      this.#server.close(() => {
        clearTimeout(stragglers);
        // Every socket is gone; the sessions on them say so a moment later. Once they have,
        // openConnections is 0 for whoever awaited close() or destroy().
        void Promise.all([...this.#connections.values()].map((connection) => connection.closed)).then(() =>
          resolve(),
        );
      });
      for (const waiter of this.#waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('Mock APNs server closed.'));
      }
      this.#waiters.clear();
    });
    return this.#closing;
  }

  /** Aborts: every connection is cut at once. */
  async destroy(): Promise<void> {
    for (const timer of this.#delayed.keys()) clearTimeout(timer);
    this.#delayed.clear();
    this.destroyConnections();
    await this.close();
  }
}

export async function startMockApnsServer(options: MockApnsServerOptions = {}): Promise<MockApnsServer> {
  let tls = options.tls;
  let caPem: string;
  if (tls === undefined) {
    const pki = await createTestPki({ serverNames: [options.host ?? '127.0.0.1'] });
    tls = { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem };
    caPem = pki.caCertPem;
  } else {
    caPem = tls.clientCaPem ?? tls.certPem;
  }
  const server = http2.createSecureServer({
    cert: tls.certPem,
    key: tls.keyPem,
    ...(tls.clientCaPem === undefined ? {} : { ca: tls.clientCaPem }),
    // Client certificates are optional: with one the connection is in certificate mode.
    requestCert: true,
    rejectUnauthorized: false,
    allowHTTP1: false,
    minVersion: 'TLSv1.2',
    settings: { ...APNS_SETTINGS, maxConcurrentStreams: options.initialMaxConcurrentStreams ?? 1 },
  });
  let mock: MockApnsServerImpl | undefined;

  // Take over the HTTP/2 connection listener so that we see the TLS socket first (client
  // certificate, ping filter) and can admit prior-knowledge clients that negotiated no ALPN.
  const h2Listeners = server.listeners('secureConnection') as ((socket: Duplex) => void)[];
  server.removeAllListeners('secureConnection');
  let pending: { socket: TLSSocket; transport: Duplex } | undefined;
  const admit = (socket: TLSSocket) => {
    if (mock === undefined) {
      socket.destroy();
      return;
    }
    const transport = mock.wrapSocket(socket);
    pending = { socket, transport };
    for (const listener of h2Listeners) listener.call(server, transport);
    pending = undefined;
  };
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') admit(socket);
    else {
      // No ALPN (prior knowledge): mark it h2 for Node's listener. http/1.1 never gets here.
      socket.alpnProtocol = 'h2';
      admit(socket);
    }
  });
  server.on('session', (session) => {
    if (mock === undefined || pending === undefined) {
      session.destroy();
      return;
    }
    mock.addSession(session, pending.socket, pending.transport);
  });
  server.on('sessionError', () => {});
  server.on('tlsClientError', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  mock = new MockApnsServerImpl(server, server.address() as AddressInfo, caPem, options);
  return mock;
}
