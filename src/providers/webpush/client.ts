/**
 * The Web Push sender: validates a subscription and a message, encrypts (RFC 8291), signs (VAPID,
 * RFC 8292, cached per origin), POSTs (RFC 8030) over one connection pool per push-service origin,
 * and turns the answer into one outcome with a disposition (domain `classifyWebPushAnswer`).
 *
 * Retries: a 429/5xx (or a refused connection) is retried here when its Retry-After is short
 * (≤ `maxRetryWaitMs`) and the retry budget allows; otherwise the rejection comes back with its
 * `retryAfterMs` for the caller's queue to schedule. The same ciphertext is resent: no key/nonce pair
 * ever covers two plaintexts. An ambiguous failure (timeout, connection lost after the request left)
 * is not resent: Web Push has no idempotency key, a resend could show the notification twice.
 */
import type tls from 'node:tls';
import {
  checkTtl,
  checkWebPushEndpoint,
  checkWebPushPlaintext,
  classifyWebPushAnswer,
  decodeBase64url,
  type EndpointPolicy,
  isUrgency,
  isValidTopic,
  type Problem,
  topicFromCollapseKey,
  urgencyFromPriority,
} from '../../domain/index.ts';
import { PushkeeperError } from '../../errors.ts';
import { probeAlpn } from './alpn-probe.ts';
import { boundedMap } from './bounded.ts';
import { type EncryptionRandomness, encryptWebPushPayload } from './encrypt.ts';
import { Http1Transport } from './http1-transport.ts';
import { Http2Transport } from './h2-transport.ts';
import { RetryAllowance } from './retry-allowance.ts';
import {
  type PushResponse,
  type PushTransport,
  TransportFailure,
  type TransportOptions,
} from './transport.ts';
import type {
  WebPushDelivery,
  WebPushFailed,
  WebPushMessage,
  WebPushOutcome,
  WebPushResult,
  WebPushTarget,
} from './types.ts';
import { type VapidCredentials, VapidSigner } from './vapid.ts';

export interface WebPushClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface WebPushClientOptions extends EndpointPolicy {
  readonly vapid: VapidCredentials;
  /** Extra TLS options for every connection (e.g. `{ ca }` of a mock push service). */
  readonly tls?: tls.ConnectionOptions;
  /** `auto` (default): ALPN decides per origin. */
  readonly protocol?: 'auto' | 'h2' | 'http/1.1';
  /** Connections per origin: HTTP/2 sessions (default 2) or HTTP/1.1 sockets (default 32). */
  readonly maxConnectionsPerOrigin?: number;
  /** `sendMany` sends in flight; default 200. */
  readonly concurrency?: number;
  /** Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Attempts per message including the first; default 3. */
  readonly maxAttempts?: number;
  /** Longest Retry-After waited for here; longer ones go back to the caller. Default 30 s. */
  readonly maxRetryWaitMs?: number;
  readonly clock?: WebPushClock;
  /** Test seam: fixed ephemeral keys and salts (RFC vectors only). */
  readonly randomness?: EncryptionRandomness;
  /** Test seam: the pool for one origin. */
  readonly transportFactory?: (protocol: 'h2' | 'http/1.1', options: TransportOptions) => PushTransport;
}

export interface WebPushClientStats {
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly failed: number;
  readonly retries: number;
  /** Time spent encrypting, in microseconds, and how many bodies were encrypted. */
  readonly encryptMicros: number;
  readonly encrypted: number;
  readonly vapidTokensSigned: number;
  readonly origins: Readonly<Record<string, 'h2' | 'http/1.1'>>;
}

const systemClock: WebPushClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};
const BACKOFF_BASE_MS = 250;
const EMPTY = Buffer.alloc(0);

interface Prepared {
  readonly origin: string;
  readonly path: string;
  readonly headers: [string, string][];
  readonly body: Buffer;
}

export class WebPushClient {
  readonly #options: WebPushClientOptions;
  readonly #vapid: VapidSigner;
  readonly #clock: WebPushClock;
  readonly #transports = new Map<string, Promise<PushTransport>>();
  readonly #protocols: Record<string, 'h2' | 'http/1.1'> = {};
  readonly #allowance = new RetryAllowance();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #counts = { sent: 0, accepted: 0, rejected: 0, failed: 0, retries: 0, encryptMicros: 0, encrypted: 0 };

  constructor(options: WebPushClientOptions) {
    this.#options = options;
    this.#vapid = new VapidSigner(options.vapid);
    this.#clock = options.clock ?? systemClock;
  }

  /** The VAPID public key browsers subscribe with (`applicationServerKey`). */
  get vapidPublicKey(): string {
    return this.#vapid.publicKey;
  }

  stats(): WebPushClientStats {
    return { ...this.#counts, vapidTokensSigned: this.#vapid.tokensSigned, origins: { ...this.#protocols } };
  }

  /** One message to one subscription. Never throws for a push service's answer: that is the outcome. */
  send(subscription: WebPushTarget, message: WebPushMessage): Promise<WebPushOutcome> {
    if (this.#closed)
      return Promise.resolve(
        failed('PK_ERR_WEBPUSH_CLIENT_CLOSED', 'The Web Push client is closed.', false, 0),
      );
    const promise = this.#send(subscription, message);
    this.#inFlight.add(promise);
    void promise.finally(() => this.#inFlight.delete(promise));
    return promise;
  }

  /**
   * A batch: at most `concurrency` in flight, outcomes in completion order, each with its delivery
   * (and the caller's `ref`). Input is pulled as slots free up, so a huge audience streams through.
   */
  sendMany<R>(
    deliveries: Iterable<WebPushDelivery<R>> | AsyncIterable<WebPushDelivery<R>>,
    options: { concurrency?: number } = {},
  ): AsyncIterableIterator<WebPushResult<R>> {
    const concurrency = options.concurrency ?? this.#options.concurrency ?? 200;
    return boundedMap(
      deliveries,
      (delivery) =>
        this.send(delivery.subscription, delivery.message).then((outcome) => ({ delivery, outcome })),
      concurrency,
    );
  }

  /** No new sends; resolves once those in flight have their outcomes and the connections are closed. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      const transports = await Promise.allSettled([...this.#transports.values()]);
      await Promise.all(transports.map((t) => (t.status === 'fulfilled' ? t.value.close() : undefined)));
    })();
    return this.#closing;
  }

  /** Aborts every connection now; sends in flight fail. */
  destroy(): void {
    this.#closed = true;
    for (const transport of this.#transports.values())
      void transport.then(
        (t) => t.destroy(),
        () => undefined,
      );
  }

  async #send(subscription: WebPushTarget, message: WebPushMessage): Promise<WebPushOutcome> {
    const prepared = this.#prepare(subscription, message);
    if ('kind' in prepared) return this.#count(prepared);
    let attempts = 0;
    for (;;) {
      attempts += 1;
      if (attempts === 1) this.#allowance.firstAttempt();
      const sentAt = this.#clock.now();
      let response: PushResponse;
      try {
        const transport = await this.#transportFor(prepared.origin);
        this.#counts.sent += 1;
        response = await transport.send({
          path: prepared.path,
          headers: prepared.headers,
          body: prepared.body,
        });
      } catch (error) {
        const failure =
          error instanceof TransportFailure
            ? error
            : new TransportFailure('PK_ERR_WEBPUSH_CONNECTION', (error as Error).message, false, {
                cause: error,
              });
        if (
          !failure.ambiguous &&
          failure.code === 'PK_ERR_WEBPUSH_CONNECTION' &&
          (await this.#mayRetry(attempts, undefined))
        )
          continue;
        return this.#count(failed(failure.code, failure.message, failure.ambiguous, attempts));
      }
      const host = new URL(prepared.origin).hostname;
      const verdict = classifyWebPushAnswer(
        { status: response.status, body: response.body, header: response.header, host },
        this.#clock.now(),
      );
      if (verdict.accepted)
        return this.#count({
          kind: 'accepted',
          status: response.status,
          location: response.header('location'),
          attempts,
        });
      if (verdict.disposition === 'retry' && (await this.#mayRetry(attempts, verdict.retryAfterMs))) continue;
      return this.#count({
        kind: 'rejected',
        status: response.status,
        reason: verdict.reason,
        disposition: verdict.disposition!,
        scope: verdict.scope!,
        ...(verdict.health === undefined ? {} : { health: verdict.health }),
        ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }),
        sentAt: new Date(sentAt),
        attempts,
      });
    }
  }

  /** Waits before a retry when one is allowed: attempts left, a short enough Retry-After, budget. */
  async #mayRetry(attempts: number, retryAfterMs: number | undefined): Promise<boolean> {
    if (this.#closed || attempts >= (this.#options.maxAttempts ?? 3)) return false;
    const backoff = BACKOFF_BASE_MS * 2 ** (attempts - 1) * (0.5 + Math.random() / 2);
    const wait = Math.max(retryAfterMs ?? 0, backoff);
    if (wait > (this.#options.maxRetryWaitMs ?? 30_000)) return false;
    if (!this.#allowance.takeRetry()) return false;
    this.#counts.retries += 1;
    await this.#clock.sleep(wait);
    return !this.#closed;
  }

  #count<O extends WebPushOutcome>(outcome: O): O {
    this.#counts[outcome.kind] += 1;
    return outcome;
  }

  /** Validation, headers and the encrypted body; a `WebPushFailed` when something is not sendable. */
  #prepare(subscription: WebPushTarget, message: WebPushMessage): Prepared | WebPushFailed {
    const endpoint = checkWebPushEndpoint(subscription?.endpoint, this.#options);
    if (!endpoint.ok) return problemFailure(endpoint.error);
    const p256dh = decodeBase64url(String(subscription.keys?.p256dh ?? ''));
    const auth = decodeBase64url(String(subscription.keys?.auth ?? ''));
    if (
      p256dh === undefined ||
      p256dh.bytes.length !== 65 ||
      p256dh.bytes[0] !== 0x04 ||
      auth === undefined ||
      auth.bytes.length !== 16
    ) {
      return failed(
        'PK_ERR_WEBPUSH_SUBSCRIPTION_INVALID',
        'keys.p256dh must be a 65-byte P-256 point and keys.auth 16 bytes.',
        false,
        0,
        'keys-invalid',
      );
    }
    const ttl = checkTtl(message.ttlSeconds);
    if (!ttl.ok) return problemFailure(ttl.error);
    const urgency = message.urgency ?? urgencyFromPriority(message.priority);
    if (!isUrgency(urgency))
      return failed(
        'PK_ERR_WEBPUSH_OPTIONS_INVALID',
        'urgency must be very-low, low, normal or high.',
        false,
        0,
        'urgency-invalid',
      );
    let topic: string | undefined;
    if (message.topic !== undefined) {
      if (!isValidTopic(message.topic)) {
        return failed(
          'PK_ERR_WEBPUSH_OPTIONS_INVALID',
          'topic must be 1 to 32 characters of A-Z a-z 0-9 - _.',
          false,
          0,
          'topic-invalid',
        );
      }
      topic = message.topic;
    } else if (message.collapseKey !== undefined) {
      topic = topicFromCollapseKey(message.collapseKey);
    }
    const padding = message.padding ?? 0;
    if (!Number.isInteger(padding) || padding < 0) {
      return failed(
        'PK_ERR_WEBPUSH_OPTIONS_INVALID',
        'padding must be a whole number ≥ 0.',
        false,
        0,
        'padding-invalid',
      );
    }
    const headers: [string, string][] = [
      ['ttl', String(ttl.value)],
      ['urgency', urgency],
    ];
    if (topic !== undefined) headers.push(['topic', topic]);
    const host = new URL(endpoint.value.origin).hostname;
    // WNS caches by default and refuses TTL 0 without `X-WNS-Cache-Policy: no-cache` (observed 400
    // "Ttl value conflicts with X-WNS-Cache-Policy").
    if (host.endsWith('.notify.windows.com'))
      headers.push(['x-wns-cache-policy', ttl.value === 0 ? 'no-cache' : 'cache']);
    let body: Buffer = EMPTY;
    if (message.payload !== undefined) {
      const plaintext =
        typeof message.payload === 'string' ? Buffer.from(message.payload, 'utf8') : message.payload;
      const size = checkWebPushPlaintext(plaintext.length, padding);
      if (!size.ok) return problemFailure(size.error);
      const started = performance.now();
      try {
        body = encryptWebPushPayload({ p256dh: p256dh.bytes, auth: auth.bytes }, plaintext, {
          padding,
          ...(this.#options.randomness === undefined ? {} : { randomness: this.#options.randomness }),
        });
      } catch {
        // ECDH refuses a point that is not on P-256 (RFC 8291 §7).
        return failed(
          'PK_ERR_WEBPUSH_SUBSCRIPTION_INVALID',
          'keys.p256dh is not a point on P-256.',
          false,
          0,
          'p256dh-not-on-curve',
        );
      }
      this.#counts.encryptMicros += (performance.now() - started) * 1000;
      this.#counts.encrypted += 1;
      headers.push(['content-encoding', 'aes128gcm'], ['content-type', 'application/octet-stream']);
    }
    headers.push(['authorization', this.#vapid.authorization(endpoint.value.origin)]);
    const url = new URL(endpoint.value.endpoint);
    return { origin: endpoint.value.origin, path: `${url.pathname}${url.search}`, headers, body };
  }

  #transportFor(origin: string): Promise<PushTransport> {
    let transport = this.#transports.get(origin);
    if (transport === undefined) {
      transport = this.#openTransport(origin);
      this.#transports.set(origin, transport);
      // A failed probe is not cached: the next send tries again.
      transport.catch(() => {
        if (this.#transports.get(origin) === transport) this.#transports.delete(origin);
      });
    }
    return transport;
  }

  async #openTransport(origin: string): Promise<PushTransport> {
    const connectTimeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    const wanted = this.#options.protocol ?? 'auto';
    const protocol =
      wanted === 'auto' ? await probeAlpn(origin, this.#options.tls, connectTimeoutMs) : wanted;
    if (this.#closed) throw new PushkeeperError('PK_ERR_WEBPUSH_CLIENT_CLOSED');
    this.#protocols[origin] = protocol;
    const options: TransportOptions = {
      origin,
      ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
      maxConnections: this.#options.maxConnectionsPerOrigin ?? (protocol === 'h2' ? 2 : 32),
      requestTimeoutMs: this.#options.requestTimeoutMs ?? 30_000,
      connectTimeoutMs,
    };
    if (this.#options.transportFactory !== undefined)
      return this.#options.transportFactory(protocol, options);
    return protocol === 'h2' ? new Http2Transport(options) : new Http1Transport(options);
  }
}

function failed(
  code: WebPushFailed['code'],
  message: string,
  ambiguous: boolean,
  attempts: number,
  reason?: string,
): WebPushFailed {
  return { kind: 'failed', code, message, ambiguous, attempts, ...(reason === undefined ? {} : { reason }) };
}

function problemFailure(problem: Problem): WebPushFailed {
  return failed(problem.code, problem.message, false, 0, problem.reason);
}
