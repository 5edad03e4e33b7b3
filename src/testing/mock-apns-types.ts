/** The public shapes of the mock APNs server: options, faults, records, stats. */
import type { Environment } from '../domain/index.ts';

export interface MockSigningKey {
  readonly teamId: string;
  readonly keyId: string;
  readonly publicKeyPem: string;
  /**
   * Bundle ids (or full topics) the key may push to, making it a topic-specific key; omit for a
   * team-scoped key (any topic of the team).
   */
  readonly topics?: readonly string[];
  /** Environments the key is scoped to; omit for both. The other one → BadEnvironmentKeyIdInToken. */
  readonly environments?: readonly Environment[];
}

export interface MockFaults {
  /** After every `every` streams on a connection, GOAWAY with last-stream-id = current id − behind. */
  readonly goAwayAfterStreams?: { every: number; lastStreamIdBehind?: number; debug?: string };
  /** Probability per request of destroying the whole session instead of answering. */
  readonly destroySessionRate?: number;
  /** Probability per request of never answering the stream. */
  readonly neverRespondRate?: number;
  /** Uniform random delay before each answer. */
  readonly delayMs?: { min: number; max: number };
  /** Answer every request with this status until `untilMs` on the server's clock (`options.now`). */
  readonly statusWindow?: {
    status: 429 | 500 | 503;
    reason: string;
    retryAfterSeconds?: number;
    untilMs: number;
  };
  /** Like APNs observed (openradar 27870881): stream limit 1 after a rejection, restored after a success. */
  readonly dropStreamLimitAfterRejection?: boolean;
  /** Connections opened while set never acknowledge PING frames. */
  readonly ignorePings?: boolean;
  /** GOAWAY with `{"reason":…}` debug data on each connection's first request, e.g. BadCertificateEnvironment. */
  readonly goAwayOnFirstRequest?: { reason: string; lastStreamId?: number };
  /** Seed for the fault PRNG (rates, delays); the same seed gives the same fault sequence. */
  readonly faultSeed?: number;
}

export interface MockApnsServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** Default: a fresh createTestPki(); clientCaPem defaults to that PKI's CA. */
  readonly tls?: { certPem: string; keyPem: string; clientCaPem?: string };
  /** Default production. Sandbox adds `apns-unique-id` to responses, like Apple's development server. */
  readonly environment?: Environment;
  /** `accept-all` answers 200 to everything with minimal work (benchmarks). Default validating. */
  readonly mode?: 'validating' | 'accept-all';
  /**
   * MAX_CONCURRENT_STREAMS before the first authenticated request; default 1 (Apple, "Sending
   * notification requests to APNs").
   */
  readonly initialMaxConcurrentStreams?: number;
  /** MAX_CONCURRENT_STREAMS once authenticated; default 1000 (observed in 2021:
   * https://github.com/jchambers/pushy/issues/878). */
  readonly maxConcurrentStreams?: number;
  readonly signingKeys?: readonly MockSigningKey[];
  /** Milliseconds clock for JWT `iat` checks, the 20-minute rule and the status window. */
  readonly now?: () => number;
  readonly faults?: MockFaults;
  /** Close a connection idle this long with GOAWAY {"reason":"IdleTimeout"}; default never. */
  readonly idleTimeoutMs?: number;
  /** Keep payloads and headers of accepted notifications; default true (false in accept-all). */
  readonly recordAccepted?: boolean;
}

export interface MockRequest {
  readonly connectionId: number;
  readonly streamId: number;
  readonly method: string;
  readonly path: string;
  /** Device token from the path, lower-case; '' when the path has none. */
  readonly token: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly payload: Buffer;
}

export interface MockResponse {
  readonly status: number;
  /** Required for non-200. */
  readonly reason?: string;
  /** For 410: milliseconds since the epoch. */
  readonly timestamp?: number;
  /** Extra response headers (e.g. retry-after). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RecordedNotification {
  readonly apnsId: string;
  readonly token: string;
  readonly topic: string;
  readonly pushType: string;
  readonly priority: number;
  readonly expiration?: number;
  readonly collapseId?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly payload: Buffer;
  readonly connectionId: number;
  readonly streamId: number;
  /** Server clock (`options.now`) at acceptance. */
  readonly at: number;
}

export interface RecordedRejection {
  readonly apnsId: string;
  readonly token: string;
  readonly status: number;
  readonly reason: string;
  readonly timestampMs?: number;
  readonly connectionId: number;
  readonly at: number;
}

export interface MockApnsStats {
  readonly connectionsOpened: number;
  readonly requests: number;
  /** Max over connections of streams open at once, as the server saw them. */
  readonly maxObservedConcurrency: number;
  readonly maxConcurrencyByConnection: ReadonlyMap<number, number>;
  /** The MAX_CONCURRENT_STREAMS value last advertised on each connection. */
  readonly advertisedLimitByConnection: ReadonlyMap<number, number>;
  readonly distinctIats: ReadonlySet<number>;
  readonly pingsAnswered: number;
  /** PINGs swallowed by the ignorePings fault. */
  readonly pingsIgnored: number;
  /** Streams left unanswered by the neverRespondRate fault. */
  readonly unansweredStreams: number;
  readonly goAwaysSent: number;
  readonly sessionsDestroyed: number;
}

export interface MockApnsServer {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The CA that signed the server certificate: trust it in the client under test. */
  readonly caPem: string;
  readonly environment: Environment;
  addSigningKey(key: MockSigningKey): void;
  removeSigningKey(keyId: string): void;
  registerDevice(token: string, options: { topic: string; environment?: Environment }): void;
  unregisterDevice(token: string, timestampMs: number, reason?: 'Unregistered' | 'ExpiredToken'): void;
  setFaults(faults: MockFaults): void;
  /**
   * Replaces validation for each request while set: the hook sees the fully read request; if it
   * returns a response, that is sent (and recorded) instead of validating; `undefined` validates
   * as usual. Faults still apply.
   */
  respondWith(hook: ((request: MockRequest) => MockResponse | undefined) | undefined): void;
  readonly accepted: readonly RecordedNotification[];
  readonly rejections: readonly RecordedRejection[];
  /** Accepted notifications so far (counted even when payloads are not recorded). */
  readonly acceptedCount: number;
  waitForAccepted(count: number, timeoutMs?: number): Promise<void>;
  /** Times this apns-id was accepted (not kept by an accept-all server that records nothing). */
  acceptanceCount(apnsId: string): number;
  readonly stats: MockApnsStats;
  /** Currently open HTTP/2 connections. */
  readonly openConnections: number;
  /** GOAWAY on every open connection (with `{"reason":…}` debug data), then close them. */
  goAwayAll(options?: { reason?: string; lastStreamId?: number }): void;
  /** Destroys every open connection abruptly (a network cut). */
  destroyConnections(): void;
  resetRecords(): void;
  /** Stops listening, answers nothing new, closes connections; idempotent. */
  close(): Promise<void>;
  /** Aborts: cuts every connection at once, then closes. */
  destroy(): Promise<void>;
}
