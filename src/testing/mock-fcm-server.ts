/**
 * A stand-in for FCM HTTP v1 (`POST /v1/projects/{project}/messages:send`) and Google's OAuth
 * token endpoint (`POST /token`) on one TLS port, shipped as `pushkeeper/testing`. It shares no code
 * with our client: it is the oracle the client is judged against.
 *
 * - TLS with ALPN `h2` and `http/1.1` on the same port: firebase-admin's `send()` and its legacy
 *   transport speak HTTP/1.1, `sendEach()` HTTP/2, and OAuth libraries HTTP/1.1.
 * - SETTINGS_MAX_CONCURRENT_STREAMS 100 (what FCM is reported to allow).
 * - Checks in FCM's order, so a token's state never leaks to an unauthenticated caller:
 *   authentication (401 without FcmError) → project (403 PERMISSION_DENIED) → body and message
 *   (400, BadRequest field paths) → target state (UNREGISTERED, SENDER_ID_MISMATCH, …) → faults.
 * - Known incompatibility: firebase-admin's HTTP/2 path sends `:scheme: https:`, which nghttp2 —
 *   and so every node:http2 server, this one included — resets with PROTOCOL_ERROR before any
 *   application code runs. Against this mock, firebase-admin needs `enableLegacyHttpTransport()`
 *   or a corrected pseudo-header (docs/testing-with-the-mock.md shows both).
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_FAULT_SEED, type Random, seededRandom } from './fault-random.ts';
import { MockTokenAuthority } from './mock-fcm-oauth.ts';
import type {
  MockFcmDeviceState,
  MockFcmFaults,
  MockFcmServer,
  MockFcmServerOptions,
  MockFcmStats,
  MockServiceAccountFile,
  RecordedFcmMessage,
  RecordedFcmRejection,
} from './mock-fcm-types.ts';
import {
  checkSendRequest,
  fcmError,
  frontEndError,
  permissionDenied,
  type RpcError,
  unauthenticated,
} from './mock-fcm-validation.ts';
import { createTestPki } from './test-pki.ts';

type Request = http2.Http2ServerRequest;
type Response = http2.Http2ServerResponse;

const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
const FCM_SCOPES = [
  'https://www.googleapis.com/auth/firebase.messaging',
  'https://www.googleapis.com/auth/cloud-platform',
];
const MAX_BODY = 1024 * 1024;
const MAX_RECORDS = 100_000;

export const MOCK_FCM_SERVER_NAMES: readonly string[] = [
  'localhost',
  '127.0.0.1',
  '::1',
  'fcm.googleapis.com',
  'oauth2.googleapis.com',
];

class MockFcmServerImpl implements MockFcmServer {
  readonly url: string;
  readonly tokenUri: string;
  readonly port: number;
  readonly projectId: string;
  readonly caPem: string;
  readonly #server: http2.Http2SecureServer;
  readonly #options: MockFcmServerOptions;
  readonly #now: () => number;
  readonly #authority: MockTokenAuthority;
  readonly #devices = new Map<string, MockFcmDeviceState>();
  readonly #recordAccepted: boolean;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  /** HTTP/1.1 sockets, closed with the server. */
  readonly #sockets = new Set<TLSSocket>();
  readonly #streamsBySession = new Map<
    http2.ServerHttp2Session,
    { open: number; seen: number; lastId: number; goingAway: boolean }
  >();
  readonly #waiters = new Set<{ count: number; resolve: () => void }>();
  #faults: MockFcmFaults = {};
  #failNextLeft = 0;
  #random: Random = seededRandom(DEFAULT_FAULT_SEED);
  #accepted: RecordedFcmMessage[] = [];
  #rejections: RecordedFcmRejection[] = [];
  #stats = this.#emptyStats();
  #closing: Promise<void> | undefined;

  constructor(
    server: http2.Http2SecureServer,
    address: AddressInfo,
    caPem: string,
    options: MockFcmServerOptions,
  ) {
    this.#server = server;
    this.#options = options;
    this.port = address.port;
    this.url = `https://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    this.tokenUri = `${this.url}/token`;
    this.projectId = options.projectId ?? 'mock-project';
    this.caPem = caPem;
    this.#now = options.now ?? Date.now;
    this.#recordAccepted = options.recordAccepted ?? (options.mode ?? 'validating') === 'validating';
    this.#authority = new MockTokenAuthority({
      audiences: [this.tokenUri, GOOGLE_TOKEN_URI, `https://localhost:${address.port}/token`],
      now: this.#now,
      lifetimeS: options.tokenLifetimeSeconds ?? 3600,
    });
    this.setFaults(options.faults ?? {});
    server.on('request', (request: Request, response: Response) => this.#onRequest(request, response));
    server.on('session', (session: http2.ServerHttp2Session) => {
      this.#stats.connectionsOpened += 1;
      this.#sessions.add(session);
      this.#streamsBySession.set(session, { open: 0, seen: 0, lastId: 0, goingAway: false });
      session.on('close', () => {
        this.#sessions.delete(session);
        this.#streamsBySession.delete(session);
      });
      session.on('error', () => {});
    });
    server.on('secureConnection', (socket) => {
      if (socket.alpnProtocol !== 'h2') this.#stats.connectionsOpened += 1;
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  #emptyStats() {
    return {
      requests: 0,
      accepted: 0,
      rejected: 0,
      connectionsOpened: 0,
      maxConcurrentStreams: 0,
      goAwaysSent: 0,
      byErrorCode: {} as Record<string, number>,
      byHttpVersion: {} as Record<string, number>,
    };
  }

  get accepted(): readonly RecordedFcmMessage[] {
    return this.#accepted;
  }

  get rejections(): readonly RecordedFcmRejection[] {
    return this.#rejections;
  }

  get stats(): MockFcmStats {
    return { ...this.#stats, tokenRequests: this.#authority.requests, tokensIssued: this.#authority.issued };
  }

  createServiceAccount(options: { projectId?: string } = {}): MockServiceAccountFile {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const projectId = options.projectId ?? this.projectId;
    const privateKeyId = randomBytes(20).toString('hex');
    const clientEmail = `firebase-adminsdk-${randomBytes(3).toString('hex')}@${projectId}.iam.gserviceaccount.com`;
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.addServiceAccount({ clientEmail, publicKeyPem, privateKeyId, projectId });
    return {
      json: {
        type: 'service_account',
        project_id: projectId,
        private_key_id: privateKeyId,
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: clientEmail,
        client_id: String(100_000_000_000_000 + Math.floor(Math.random() * 1e14)),
        token_uri: this.tokenUri,
      },
      publicKeyPem,
    };
  }

  addServiceAccount(account: {
    clientEmail: string;
    publicKeyPem: string;
    privateKeyId?: string;
    projectId?: string;
  }): void {
    this.#authority.addAccount({
      clientEmail: account.clientEmail,
      publicKeyPem: account.publicKeyPem,
      projectId: account.projectId ?? this.projectId,
      ...(account.privateKeyId === undefined ? {} : { privateKeyId: account.privateKeyId }),
    });
  }

  registerDevice(token: string, state: MockFcmDeviceState = 'live'): void {
    this.#devices.set(token, state);
  }

  unregisterDevice(token: string): void {
    this.#devices.set(token, 'unregistered');
  }

  deviceState(token: string): MockFcmDeviceState | undefined {
    return this.#devices.get(token);
  }

  setFaults(faults: MockFcmFaults): void {
    this.#faults = faults;
    this.#failNextLeft = faults.failNext?.count ?? 0;
    this.#random = seededRandom(faults.faultSeed ?? DEFAULT_FAULT_SEED);
  }

  setTokenLifetime(seconds: number): void {
    this.#authority.setTokenLifetime(seconds);
  }

  revokeAccessTokens(): void {
    this.#authority.revokeAll();
  }

  waitForAccepted(count: number, timeoutMs = 5000): Promise<void> {
    if (this.#stats.accepted >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(`Mock FCM: ${this.#stats.accepted} of ${count} messages accepted after ${timeoutMs} ms.`),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  resetRecords(): void {
    this.#accepted = [];
    this.#rejections = [];
    const opened = this.#stats.connectionsOpened;
    this.#stats = this.#emptyStats();
    this.#stats.connectionsOpened = opened;
  }

  // --- requests ----------------------------------------------------------------------------------

  #onRequest(request: Request, response: Response): void {
    const session =
      request.httpVersion === '2.0'
        ? (request.stream.session as http2.ServerHttp2Session | undefined)
        : undefined;
    const counters = session === undefined ? undefined : this.#streamsBySession.get(session);
    if (counters !== undefined) {
      counters.open += 1;
      counters.seen += 1;
      counters.lastId = Math.max(counters.lastId, request.stream.id ?? 0);
      if (counters.open > this.#stats.maxConcurrentStreams) this.#stats.maxConcurrentStreams = counters.open;
      response.once('close', () => {
        counters.open -= 1;
      });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    request.on('error', () => {});
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = request.url ?? '/';
      if (request.method === 'POST' && url.split('?')[0] === '/token') {
        const answer = this.#authority.exchange(new URLSearchParams(body));
        this.#reply(response, answer.ok ? 200 : answer.status, answer.body);
        return;
      }
      this.#stats.requests += 1;
      const version = request.httpVersion === '2.0' ? 'h2' : 'http/1.1';
      this.#stats.byHttpVersion[version] = (this.#stats.byHttpVersion[version] ?? 0) + 1;
      const answer =
        size > MAX_BODY
          ? fcmError(400, 'INVALID_ARGUMENT', 'Request body too large.')
          : this.#send(request, url, body, version);
      this.#answer(response, answer, counters, session);
    });
  }

  /** The checks, in FCM's order; an answer to send back. */
  #send(
    request: Request,
    url: string,
    text: string,
    version: string,
  ): RpcError | { status: 200; body: Record<string, unknown>; retryAfter?: undefined } {
    const authorization = request.headers['authorization'];
    if (typeof authorization !== 'string' || !authorization.startsWith('Bearer '))
      return unauthenticated('CREDENTIALS_MISSING');
    const grant = this.#authority.check(authorization.slice(7));
    if (grant === 'unknown') return unauthenticated('ACCESS_TOKEN_TYPE_UNSUPPORTED');
    if (grant === 'expired') return unauthenticated('ACCESS_TOKEN_EXPIRED');
    const path = SEND_PATH.exec(url.split('?')[0]!);
    if (request.method !== 'POST' || path === null) {
      return frontEndError(
        404,
        'Not found.',
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'NOT_FOUND' },
        'NOT_FOUND',
      );
    }
    const project = decodeURIComponent(path[1]!);
    const known =
      project === this.projectId ||
      (this.#options.projectNumber !== undefined && project === this.#options.projectNumber);
    if (!known || grant.projectId !== this.projectId) {
      return permissionDenied(
        'IAM_PERMISSION_DENIED',
        `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`,
      );
    }
    if (!grant.scopes.some((scope) => FCM_SCOPES.includes(scope))) {
      return permissionDenied(
        'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
        'Request had insufficient authentication scopes.',
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return frontEndError(
        400,
        'Invalid JSON payload received.',
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [] },
        'INVALID_ARGUMENT',
      );
    }
    const checked = checkSendRequest(parsed);
    if ('httpStatus' in checked) return checked;
    if (checked.token !== undefined) {
      const state =
        this.#devices.get(checked.token) ??
        ((this.#options.mode ?? 'validating') === 'accept-all' ? 'live' : undefined);
      if (state === undefined) {
        return fcmError(
          400,
          'INVALID_ARGUMENT',
          'The registration token is not a valid FCM registration token',
          'message.token',
        );
      }
      if (state === 'unregistered') return fcmError(404, 'UNREGISTERED', 'Requested entity was not found.');
      if (state === 'mismatched') return fcmError(403, 'SENDER_ID_MISMATCH', 'SenderId mismatch');
      if (state === 'third-party-auth-error')
        return fcmError(401, 'THIRD_PARTY_AUTH_ERROR', 'Auth error from APNS or Web Push Service');
    }
    const fault = this.#fault();
    if (fault !== undefined) return fault;
    const name = `projects/${this.projectId}/messages/${checked.validateOnly ? 'fake_message_id' : `0:${randomUUID()}`}`;
    if (!checked.validateOnly) {
      this.#stats.accepted += 1;
      if (this.#recordAccepted && this.#accepted.length < MAX_RECORDS) {
        this.#accepted.push({
          name,
          token: checked.token,
          topic: checked.topic,
          message: checked.message,
          validateOnly: false,
          httpVersion: version,
          at: this.#now(),
        });
      }
      for (const waiter of this.#waiters) {
        if (this.#stats.accepted >= waiter.count) {
          this.#waiters.delete(waiter);
          waiter.resolve();
        }
      }
    }
    return { status: 200, body: { name } };
  }

  #fault(): (RpcError & { retryAfter?: number }) | undefined {
    const faults = this.#faults;
    const window = faults.statusWindow;
    if (window !== undefined && this.#now() < window.untilMs) {
      return {
        ...fcmError(window.status, window.errorCode, `Injected ${window.errorCode}.`),
        ...retryAfterOf(window.retryAfterSeconds),
      };
    }
    if (faults.failNext !== undefined && this.#failNextLeft > 0) {
      this.#failNextLeft -= 1;
      const f = faults.failNext;
      return {
        ...fcmError(f.status, f.errorCode, `Injected ${f.errorCode}.`),
        ...retryAfterOf(f.retryAfterSeconds),
      };
    }
    if (faults.errorRate !== undefined && this.#random() < faults.errorRate.rate) {
      return fcmError(
        faults.errorRate.status,
        faults.errorRate.errorCode,
        `Injected ${faults.errorRate.errorCode}.`,
      );
    }
    return undefined;
  }

  #answer(
    response: Response,
    answer:
      | (RpcError & { retryAfter?: number })
      | { status: 200; body: Record<string, unknown>; retryAfter?: undefined },
    counters: { open: number; seen: number; lastId: number; goingAway: boolean } | undefined,
    session: http2.ServerHttp2Session | undefined,
  ): void {
    const faults = this.#faults;
    if (faults.destroyRate !== undefined && this.#random() < faults.destroyRate) {
      (session ?? response.socket)?.destroy();
      return;
    }
    const status = 'httpStatus' in answer ? answer.httpStatus : 200;
    if (status !== 200 && 'errorCode' in answer) {
      this.#stats.rejected += 1;
      this.#stats.byErrorCode[answer.errorCode] = (this.#stats.byErrorCode[answer.errorCode] ?? 0) + 1;
      if (this.#rejections.length < MAX_RECORDS)
        this.#rejections.push({ status, errorCode: answer.errorCode, token: undefined, at: this.#now() });
    }
    const deliver = () => {
      const headers: Record<string, string> = {};
      if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
      if (status === 401) headers['www-authenticate'] = 'Bearer realm="https://accounts.google.com/"';
      this.#reply(response, status, answer.body, headers);
      if (
        session !== undefined &&
        counters !== undefined &&
        !counters.goingAway &&
        faults.goAwayAfterStreams !== undefined &&
        counters.seen >= faults.goAwayAfterStreams
      ) {
        counters.goingAway = true;
        this.#stats.goAwaysSent += 1;
        // FCM closes worn connections with GOAWAY(NO_ERROR) and debug data "session_timed_out". Every
        // stream received so far was processed, so last-stream-id covers them all (RFC 9113 §6.8).
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, counters.lastId, Buffer.from('session_timed_out'));
        session.close();
      }
    };
    const delay = faults.delayMs;
    if (delay === undefined) deliver();
    else setTimeout(deliver, delay.min + Math.floor(this.#random() * (delay.max - delay.min + 1)));
  }

  #reply(response: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (response.destroyed || response.headersSent) return;
    try {
      response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
      response.end(JSON.stringify(body));
    } catch {
      // The client reset the stream while we answered.
    }
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const session of this.#sessions) session.close();
      const stragglers = setTimeout(() => {
        for (const session of this.#sessions) session.destroy();
        for (const socket of this.#sockets) socket.destroy();
      }, 1000);
      this.#server.close(() => {
        clearTimeout(stragglers);
        resolve();
      });
      // HTTP/1.1 keep-alive sockets would hold close() open: they carry no request now.
      for (const socket of this.#sockets) if (socket.alpnProtocol !== 'h2') socket.end();
    });
    return this.#closing;
  }
}

function retryAfterOf(seconds: number | undefined): { retryAfter?: number } {
  return seconds === undefined ? {} : { retryAfter: seconds };
}

export async function startMockFcmServer(options: MockFcmServerOptions = {}): Promise<MockFcmServer> {
  let tls = options.tls;
  if (tls === undefined) {
    const pki = await createTestPki({
      serverNames: [...MOCK_FCM_SERVER_NAMES, ...(options.host === undefined ? [] : [options.host])],
    });
    tls = { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, caPem: pki.caCertPem };
  }
  const server = http2.createSecureServer({
    cert: tls.certPem,
    key: tls.keyPem,
    allowHTTP1: true,
    minVersion: 'TLSv1.2',
    settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 100 },
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
  return new MockFcmServerImpl(server, server.address() as AddressInfo, tls.caPem, options);
}
