/**
 * A mock Web Push service (RFC 8030) that is stricter than the real ones: it holds the private keys
 * of the subscriptions it mints, so it decrypts every message (a real push service cannot, and
 * accepts badly encrypted messages that the browser then drops silently). Every request is judged
 * the way the push services document it:
 *
 *   POST only (405) → subscription known (404) → faults → VAPID (403 + reason, RFC 8292 §4.2;
 *   restricted subscriptions 403 VapidPkHashMismatch) → TTL present, 1*DIGIT (400 BadTtl, RFC 8030
 *   §5.2) → Urgency (400 BadUrgency, §5.3) → Topic ≤ 32 base64url (400 BadWebPushTopic, §5.4) →
 *   body ≤ 4096 (413, §7.2) → Content-Encoding exactly aes128gcm (400) → subscription state (410
 *   gone, 404 expired) → decryption (400 BadWebPushRequest + why) → 201 Created, Location, TTL.
 *
 * Error bodies are Apple's shape, `{"reason": "…"}` (plus `detail` for the mock's own diagnosis).
 * TLS always; ALPN offers h2 and http/1.1 (or one of them), through node's own servers, so the
 * judge shares no code with the sender it judges.
 */
import { createECDH, randomBytes } from 'node:crypto';
import type http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createTestPki } from './test-pki.ts';
import { DEFAULT_FAULT_SEED, type Random, seededRandom } from './fault-random.ts';
import type {
  MintOptions,
  MockSubscriptionState,
  MockWebPushFaults,
  MockWebPushOptions,
  MockWebPushServer,
  MockWebPushStats,
  PushSubscriptionJson,
  RecordedPushMessage,
  RecordedPushRejection,
} from './mock-webpush-types.ts';
import { decryptWebPushBody } from './webpush-decrypt.ts';
import { checkVapidAuthorization } from './webpush-vapid-check.ts';

interface Subscription {
  readonly token: string;
  readonly endpoint: string;
  readonly path: string;
  readonly privateKey: Buffer;
  readonly publicKey: Buffer;
  readonly authSecret: Buffer;
  readonly applicationServerKey: string | undefined;
  state: MockSubscriptionState;
  /** Salts seen, with the body they came with (RFC 8188 §2.1: a salt is never reused). */
  readonly salts: Map<string, string>;
  readonly topics: Set<string>;
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** autopush keeps messages at most 30 days and echoes what it granted (RFC 8030 §5.2). */
const MAX_GRANTED_TTL = 30 * 24 * 3600;
const URGENCY = new Set(['very-low', 'low', 'normal', 'high']);
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

class Judgement {
  readonly status: number;
  readonly reason: string;
  readonly detail: string | undefined;

  constructor(status: number, reason: string, detail?: string) {
    this.status = status;
    this.reason = reason;
    this.detail = detail;
  }
}

export async function startMockWebPushServer(options: MockWebPushOptions = {}): Promise<MockWebPushServer> {
  let tls = options.tls;
  if (tls === undefined) {
    const pki = await createTestPki({ serverNames: [options.host ?? '127.0.0.1'] });
    tls = { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, caPem: pki.caCertPem };
  }
  const server = new WebPushMock({ ...options, tls }, tls.caPem ?? tls.certPem);
  await server.listen(options.host ?? '127.0.0.1', options.port ?? 0);
  return server;
}

class WebPushMock implements MockWebPushServer {
  readonly #server: http2.Http2SecureServer | https.Server;
  readonly #maxBody: number;
  readonly #record: boolean;
  readonly #decryptEvery: number;
  /**
   * Headers whose signature already verified, as push services cache them (RFC 8292 §5 asks senders
   * to reuse tokens for exactly this); `aud` and `exp` are still checked on every request.
   */
  #verified = new Map<string, { publicKey: string; token: string; aud: string; exp: number; sub: string }>();
  readonly #nowSeconds: () => number;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #sockets = new Set<TLSSocket>();
  #faults: MockWebPushFaults = {};
  #random: Random = seededRandom(DEFAULT_FAULT_SEED);
  #messages: RecordedPushMessage[] = [];
  #rejections: RecordedPushRejection[] = [];
  #tokens = new Map<string, Set<string>>();
  #ephemeralKeys = new Set<string>();
  #counts = this.#zero();
  #origin = '';
  #port = 0;
  #closing: Promise<void> | undefined;
  readonly caPem: string;

  constructor(options: MockWebPushOptions & { tls: NonNullable<MockWebPushOptions['tls']> }, caPem: string) {
    this.caPem = caPem;
    this.#maxBody = options.maxBodyBytes ?? 4096;
    this.#record = options.recordMessages ?? true;
    this.#decryptEvery = Math.max(1, Math.floor(options.decryptEvery ?? 1));
    this.#nowSeconds = options.nowSeconds ?? (() => Date.now() / 1000);
    this.setFaults(options.faults ?? {});
    const handler = (request: Request, response: Response) => {
      void this.#handle(request, response);
    };
    const protocols = options.protocols ?? 'h2+http1';
    const tls = { cert: options.tls.certPem, key: options.tls.keyPem };
    this.#server =
      protocols === 'http1'
        ? https.createServer({ ...tls, ALPNProtocols: ['http/1.1'], keepAlive: true }, handler)
        : http2.createSecureServer(
            {
              ...tls,
              allowHTTP1: protocols === 'h2+http1',
              settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 100 },
            },
            handler,
          );
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      this.#counts.connections += 1;
      if (socket.alpnProtocol === 'h2') this.#counts.h2Connections += 1;
      else this.#counts.http1Connections += 1;
    });
  }

  get origin(): string {
    return this.#origin;
  }

  get port(): number {
    return this.#port;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        const shown = host.includes(':') ? `[${host}]` : host;
        this.#origin = `https://${shown}:${this.#port}`;
        resolve();
      });
    });
  }

  mintSubscription(options: MintOptions = {}): PushSubscriptionJson {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const token = randomBytes(18).toString('base64url');
    const path = options.withQuery === true ? `/w/?token=${encodeURIComponent(token)}` : `/push/${token}`;
    const subscription: Subscription = {
      token,
      endpoint: `${this.#origin}${path}`,
      path,
      privateKey: ecdh.getPrivateKey(),
      publicKey: ecdh.getPublicKey(),
      authSecret: randomBytes(16),
      applicationServerKey: options.applicationServerKey,
      state: 'active',
      salts: new Map(),
      topics: new Set(),
    };
    this.#subscriptions.set(path, subscription);
    return {
      endpoint: subscription.endpoint,
      expirationTime: null,
      keys: {
        p256dh: subscription.publicKey.toString('base64url'),
        auth: subscription.authSecret.toString('base64url'),
      },
    };
  }

  setSubscriptionState(endpoint: string, state: MockSubscriptionState): void {
    const path = endpoint.startsWith(this.#origin) ? endpoint.slice(this.#origin.length) : endpoint;
    const subscription = this.#subscriptions.get(path);
    if (subscription === undefined) throw new Error(`No subscription ${endpoint}`);
    subscription.state = state;
  }

  setFaults(faults: MockWebPushFaults): void {
    this.#faults = faults;
    this.#random = seededRandom(faults.seed ?? DEFAULT_FAULT_SEED);
  }

  messages(): readonly RecordedPushMessage[] {
    return this.#messages;
  }

  rejections(): readonly RecordedPushRejection[] {
    return this.#rejections;
  }

  stats(): MockWebPushStats {
    const distinct: Record<string, number> = {};
    for (const [aud, tokens] of this.#tokens) distinct[aud] = tokens.size;
    return { ...this.#counts, distinctTokensByAudience: distinct };
  }

  reset(): void {
    this.#messages = [];
    this.#rejections = [];
    this.#tokens = new Map();
    this.#verified = new Map();
    this.#ephemeralKeys = new Set();
    this.#counts = this.#zero();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }

  #zero() {
    return {
      connections: 0,
      h2Connections: 0,
      http1Connections: 0,
      requests: 0,
      accepted: 0,
      rejected: 0,
      faults: 0,
      decrypted: 0,
      ephemeralKeyReuses: 0,
      topicReplacements: 0,
    };
  }

  async #handle(request: Request, response: Response): Promise<void> {
    this.#counts.requests += 1;
    let body: Buffer | undefined;
    try {
      body = await readBody(request, this.#maxBody);
    } catch {
      return; // the client went away mid-request
    }
    if (this.#faults.delayMs !== undefined && this.#faults.delayMs > 0) await sleep(this.#faults.delayMs);
    const path = request.url ?? '/';
    const subscription = this.#subscriptions.get(path);
    const endpoint = subscription?.endpoint ?? `${this.#origin}${path}`;
    if (subscription !== undefined && this.#fault(request, response, endpoint)) return;
    const verdict = this.#judge(request, body, subscription);
    if (verdict instanceof Judgement) {
      this.#counts.rejected += 1;
      this.#rejections.push({
        endpoint,
        status: verdict.status,
        reason: verdict.reason,
        ...(verdict.detail === undefined ? {} : { detail: verdict.detail }),
      });
      const payload = JSON.stringify(
        verdict.detail === undefined
          ? { reason: verdict.reason }
          : { reason: verdict.reason, detail: verdict.detail },
      );
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (verdict.status === 405) headers['allow'] = 'POST';
      answer(response, verdict.status, headers, payload);
      return;
    }
    this.#counts.accepted += 1;
    if (this.#record) this.#messages.push(verdict);
    answer(response, 201, {
      location: `${this.#origin}/m/${verdict.id}`,
      ttl: String(Math.min(verdict.ttl, MAX_GRANTED_TTL)),
    });
  }

  /** Applies a scripted fault; true when it answered (or dropped) the request. */
  #fault(request: Request, response: Response, endpoint: string): boolean {
    const faults = this.#faults;
    const hits = (f: { probability: number; endpoints?: readonly string[] } | undefined) =>
      f !== undefined &&
      (f.endpoints === undefined || f.endpoints.includes(endpoint)) &&
      this.#random() < f.probability;
    if (hits(faults.dropConnection)) {
      this.#counts.faults += 1;
      if ('stream' in request) request.stream.session?.destroy();
      else request.socket.destroy();
      return true;
    }
    for (const [fault, status, reason] of [
      [faults.tooManyRequests, 429, 'TooManyRequests'],
      [faults.unavailable, 503, 'ServiceUnavailable'],
    ] as const) {
      if (hits(fault)) {
        this.#counts.faults += 1;
        answer(
          response,
          status,
          { 'content-type': 'application/json', 'retry-after': String(fault?.retryAfterSeconds ?? 1) },
          JSON.stringify({ reason }),
        );
        return true;
      }
    }
    return false;
  }

  #judge(
    request: Request,
    body: Buffer | undefined,
    subscription: Subscription | undefined,
  ): RecordedPushMessage | Judgement {
    if (request.method !== 'POST') return new Judgement(405, 'MethodNotAllowed');
    if (subscription === undefined) return new Judgement(404, 'BadPath');
    const headers = request.headers;
    const authority = String(headers[':authority'] ?? headers.host ?? '');
    const origin = new URL(`https://${authority}`).origin;
    const authorization = header(headers, 'authorization');
    const nowSeconds = this.#nowSeconds();
    let vapid = authorization === undefined ? undefined : this.#verified.get(authorization);
    if (vapid === undefined || vapid.aud !== origin || vapid.exp <= nowSeconds) {
      const check = checkVapidAuthorization(authorization, origin, nowSeconds);
      if (!check.ok)
        return new Judgement(
          403,
          check.failure === 'bad-k' ? 'BadVapidPublicKey' : 'BadJwtToken',
          check.failure,
        );
      vapid = check;
      if (this.#verified.size >= 10_000) this.#verified = new Map();
      this.#verified.set(authorization!, check);
    }
    let tokens = this.#tokens.get(vapid.aud);
    if (tokens === undefined) {
      tokens = new Set();
      this.#tokens.set(vapid.aud, tokens);
    }
    tokens.add(vapid.token);
    if (
      subscription.applicationServerKey !== undefined &&
      subscription.applicationServerKey !== vapid.publicKey
    ) {
      return new Judgement(403, 'VapidPkHashMismatch');
    }
    const ttlText = header(headers, 'ttl');
    if (ttlText === undefined || !/^\d+$/.test(ttlText)) return new Judgement(400, 'BadTtl');
    const ttl = Math.min(Number(ttlText), 2 ** 31);
    const urgency = header(headers, 'urgency') ?? 'normal';
    if (!URGENCY.has(urgency)) return new Judgement(400, 'BadUrgency');
    const topic = header(headers, 'topic');
    if (topic !== undefined && !TOPIC.test(topic)) return new Judgement(400, 'BadWebPushTopic');
    if (body === undefined) return new Judgement(413, 'PayloadTooLarge');
    if (body.length > 0 && header(headers, 'content-encoding') !== 'aes128gcm') {
      return new Judgement(400, 'BadWebPushRequest', 'content-encoding-not-aes128gcm');
    }
    if (subscription.state === 'gone') return new Judgement(410, 'Unregistered');
    if (subscription.state === 'expired') return new Judgement(404, 'ExpiredSubscription');
    let plaintext: Buffer = Buffer.alloc(0);
    let padding = 0;
    if (body.length > 0 && (this.#decryptEvery === 1 || this.#counts.accepted % this.#decryptEvery === 0)) {
      this.#counts.decrypted += 1;
      const opened = decryptWebPushBody(body, {
        privateKey: subscription.privateKey,
        publicKey: subscription.publicKey,
        authSecret: subscription.authSecret,
      });
      if (!opened.ok) return new Judgement(400, 'BadWebPushRequest', opened.failure);
      if (opened.senderKey.toString('base64url') === vapid.publicKey) {
        return new Judgement(400, 'BadWebPushRequest', 'ephemeral-key-is-vapid-key');
      }
      const salt = opened.salt.toString('hex');
      const digest = body.toString('base64');
      const seen = subscription.salts.get(salt);
      if (seen !== undefined && seen !== digest)
        return new Judgement(400, 'BadWebPushRequest', 'salt-reused');
      subscription.salts.set(salt, digest);
      const keyId = opened.senderKey.toString('hex');
      if (this.#ephemeralKeys.has(keyId)) this.#counts.ephemeralKeyReuses += 1;
      else this.#ephemeralKeys.add(keyId);
      plaintext = opened.plaintext;
      padding = opened.padding;
    }
    if (topic !== undefined) {
      if (subscription.topics.has(topic)) this.#counts.topicReplacements += 1;
      subscription.topics.add(topic);
    }
    return {
      id: randomBytes(12).toString('base64url'),
      endpoint: subscription.endpoint,
      plaintext,
      ttl,
      urgency,
      topic,
      padding,
      httpVersion: request.httpVersion,
      receivedAt: Date.now(),
    };
  }
}

/** Both response types take the same calls; TypeScript cannot call through their union. */
function answer(response: Response, status: number, headers: Record<string, string>, body?: string): void {
  const res = response as http.ServerResponse;
  res.writeHead(status, headers);
  res.end(body);
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The body, or undefined when it is larger than `limit` (read to the end either way). */
async function readBody(request: Request, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks, size);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
