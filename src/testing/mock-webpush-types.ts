/**
 * The mock push service's public shapes (docs/testing-with-the-mock.md, "Mock push service").
 */

/** What a browser hands to the app: `PushSubscription.toJSON()` (W3C Push API). */
export interface PushSubscriptionJson {
  readonly endpoint: string;
  readonly expirationTime: null;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

export type MockSubscriptionState = 'active' | 'gone' | 'expired';

export interface MintOptions {
  /**
   * The VAPID public key (base64url) the "browser" subscribed with (`applicationServerKey`): pushes
   * signed with another key are refused with 403 VapidPkHashMismatch (RFC 8292 §4.2). Omitted: any
   * valid VAPID key is accepted.
   */
  readonly applicationServerKey?: string;
  /** Put a query string in the endpoint (as WNS does): the sender must keep it verbatim. */
  readonly withQuery?: boolean;
}

/** One message the mock accepted, decrypted. */
export interface RecordedPushMessage {
  readonly id: string;
  readonly endpoint: string;
  readonly plaintext: Buffer;
  readonly ttl: number;
  readonly urgency: string;
  readonly topic: string | undefined;
  /** Zero octets after the delimiter. */
  readonly padding: number;
  /** `2.0` or `1.1`. */
  readonly httpVersion: string;
  readonly receivedAt: number;
}

export interface RecordedPushRejection {
  readonly endpoint: string;
  readonly status: number;
  readonly reason: string;
  readonly detail?: string;
}

/**
 * Faults, applied before the request is judged. `probability` draws from a seeded generator, so the
 * same seed and request order give the same faults. `endpoints` limits a fault to some subscriptions.
 */
export interface MockWebPushFaults {
  readonly seed?: number;
  /** 429 TooManyRequests with Retry-After (RFC 8030 §8.4). */
  readonly tooManyRequests?: {
    readonly probability: number;
    readonly retryAfterSeconds?: number;
    readonly endpoints?: readonly string[];
  };
  /** 503 ServiceUnavailable with Retry-After. */
  readonly unavailable?: {
    readonly probability: number;
    readonly retryAfterSeconds?: number;
    readonly endpoints?: readonly string[];
  };
  /** The connection is destroyed before any answer: the sender cannot know whether it was accepted. */
  readonly dropConnection?: { readonly probability: number; readonly endpoints?: readonly string[] };
  /** Every answer waits this long. */
  readonly delayMs?: number;
}

export interface MockWebPushStats {
  readonly connections: number;
  readonly h2Connections: number;
  readonly http1Connections: number;
  readonly requests: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly faults: number;
  /** Messages decrypted and checked (all of them unless `decryptEvery` > 1). */
  readonly decrypted: number;
  /** Distinct VAPID JWTs seen per `aud`: a sender that caches its token shows 1 per origin. */
  readonly distinctTokensByAudience: Readonly<Record<string, number>>;
  /** Messages whose ephemeral key had been seen before (RFC 8291 wants a new one per message). */
  readonly ephemeralKeyReuses: number;
  /** Messages that replaced an earlier one with the same Topic on the same subscription. */
  readonly topicReplacements: number;
}

export interface MockWebPushOptions {
  readonly host?: string;
  /** 0 (default) = any free port. */
  readonly port?: number;
  /** Server certificate and key; omitted: a fresh test CA issues one (see `caPem`). */
  readonly tls?: { readonly certPem: string; readonly keyPem: string; readonly caPem?: string };
  /** Which protocols ALPN offers: both (default), HTTP/2 only, or HTTP/1.1 only. */
  readonly protocols?: 'h2+http1' | 'h2' | 'http1';
  /** SETTINGS_MAX_CONCURRENT_STREAMS per HTTP/2 connection; default 100. */
  readonly maxConcurrentStreams?: number;
  /** Largest body accepted; default 4096 (RFC 8030 §7.2). Above it: 413. */
  readonly maxBodyBytes?: number;
  /** Keep decrypted messages for `messages()`; default true. Counting continues either way. */
  readonly recordMessages?: boolean;
  readonly faults?: MockWebPushFaults;
  /**
   * Decrypt 1 message in N (default 1: every message). Benchmarks raise it so the mock's own CPU does
   * not cap the sender under test; the other checks still run on every request.
   */
  readonly decryptEvery?: number;
  /** Seconds since the epoch, for VAPID `exp` checks; default the system clock. */
  readonly nowSeconds?: () => number;
}

export interface MockWebPushServer {
  /** `https://host:port`: the origin of every endpoint it mints. */
  readonly origin: string;
  readonly port: number;
  /** The CA to trust for this server's certificate. */
  readonly caPem: string;
  mintSubscription(options?: MintOptions): PushSubscriptionJson;
  /** The next push to this endpoint gets 410 (`gone`: unsubscribed) or 404 (`expired`). */
  setSubscriptionState(endpoint: string, state: MockSubscriptionState): void;
  setFaults(faults: MockWebPushFaults): void;
  messages(): readonly RecordedPushMessage[];
  rejections(): readonly RecordedPushRejection[];
  stats(): MockWebPushStats;
  /** Forgets recorded messages, rejections and counters; subscriptions stay. */
  reset(): void;
  close(): Promise<void>;
}
