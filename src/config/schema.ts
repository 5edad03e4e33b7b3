/**
 * Every setting Pushkeeper reads, with its environment variable, default and rule, in one table.
 * docs/configuration.md is generated from this table and a test keeps the two equal.
 */
export type SettingType =
  | { readonly kind: 'string'; readonly pattern?: RegExp; readonly patternHint?: string }
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  | { readonly kind: 'number'; readonly min: number; readonly max: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'url'; readonly protocols: readonly string[] };

export interface SettingSpec {
  readonly env: string;
  /** Read when `env` is unset: a conventional variable some platforms set (e.g. PORT). */
  readonly envFallback?: string;
  readonly type: SettingType;
  /** `undefined` = optional without a default; a function = derived from other settings. */
  readonly default?: string | number | boolean | ((partial: Readonly<Record<string, unknown>>) => unknown);
  readonly defaultText?: string;
  readonly secret?: boolean;
  readonly description: string;
}

const HTTPS = ['https:'];

export const SETTINGS = {
  dataDir: {
    env: 'PUSHKEEPER_DATA_DIR',
    type: { kind: 'string' },
    default: './data',
    description: 'Where the embedded database and generated secrets (admin token, secret key) live.',
  },
  databaseUrl: {
    env: 'PUSHKEEPER_DATABASE_URL',
    type: { kind: 'string', pattern: /^(sqlite:.+|postgres(ql)?:\/\/.+)$/, patternHint: 'sqlite:<path> or postgres://…' },
    default: (partial) => `sqlite:${String(partial['dataDir'] ?? './data')}/pushkeeper.db`,
    defaultText: 'sqlite:<dataDir>/pushkeeper.db',
    description: 'The database: an embedded SQLite file (one process) or PostgreSQL (several processes).',
  },
  host: {
    env: 'PUSHKEEPER_HOST',
    type: { kind: 'string' },
    default: '127.0.0.1',
    description: 'Address the HTTP API listens on. Set 0.0.0.0 to accept connections from other machines.',
  },
  port: {
    env: 'PUSHKEEPER_PORT',
    envFallback: 'PORT',
    type: { kind: 'integer', min: 0, max: 65535 },
    default: 8080,
    description:
      'Port of the HTTP API. `PORT` (set by many hosting platforms) is used when PUSHKEEPER_PORT is unset; the CLI then needs PUSHKEEPER_URL or --url.',
  },
  adminToken: {
    env: 'PUSHKEEPER_ADMIN_TOKEN',
    type: { kind: 'string', pattern: /^.{32,}$/, patternHint: 'at least 32 characters' },
    secret: true,
    defaultText: 'generated on first start into <dataDir>/admin-token (mode 0600)',
    description: 'The admin API key, which manages apps.',
  },
  secretKey: {
    env: 'PUSHKEEPER_SECRET_KEY',
    type: { kind: 'string', pattern: /^[0-9a-fA-F]{64}$|^[A-Za-z0-9+/_-]{43}=?$/, patternHint: '32 bytes as 64 hex digits or base64' },
    secret: true,
    defaultText: 'generated on first start into <dataDir>/secret-key (mode 0600)',
    description: 'Encrypts APNs credentials and webhook secrets at rest (AES-256-GCM). Keep it; without it they cannot be read.',
  },
  logLevel: {
    env: 'PUSHKEEPER_LOG_LEVEL',
    type: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    description: 'pino log level.',
  },
  logFormat: {
    env: 'PUSHKEEPER_LOG_FORMAT',
    type: { kind: 'enum', values: ['json', 'pretty'] },
    default: 'json',
    description:
      '`json`: one JSON object per line, for log collectors. `pretty`: one short coloured line per event, for reading in a terminal.',
  },
  metricsHost: {
    env: 'PUSHKEEPER_METRICS_HOST',
    type: { kind: 'string' },
    description: 'If set with a port, /metrics is also served without a key on this separate address.',
  },
  metricsPort: {
    env: 'PUSHKEEPER_METRICS_PORT',
    type: { kind: 'integer', min: 0, max: 65535 },
    description: 'Port of the separate metrics listener (see metricsHost).',
  },
  apnsProductionUrl: {
    env: 'PUSHKEEPER_APNS_PRODUCTION_URL',
    type: { kind: 'url', protocols: HTTPS },
    default: 'https://api.push.apple.com:443',
    description: 'Default APNs production endpoint (an app may override it, e.g. to point at the mock).',
  },
  apnsSandboxUrl: {
    env: 'PUSHKEEPER_APNS_SANDBOX_URL',
    type: { kind: 'url', protocols: HTTPS },
    default: 'https://api.sandbox.push.apple.com:443',
    description: 'Default APNs sandbox (development) endpoint.',
  },
  apnsCaFile: {
    env: 'PUSHKEEPER_APNS_CA_FILE',
    type: { kind: 'string' },
    description: "Extra CA certificate (PEM file) trusted for APNs endpoints, e.g. the mock server's CA.",
  },
  apnsConnectionsPerClient: {
    env: 'PUSHKEEPER_APNS_CONNECTIONS',
    type: { kind: 'integer', min: 1, max: 64 },
    default: 2,
    description: 'HTTP/2 connections per (credentials, environment). Each carries up to the server-advertised stream limit.',
  },
  apnsRequestTimeoutMs: {
    env: 'PUSHKEEPER_APNS_REQUEST_TIMEOUT_MS',
    type: { kind: 'integer', min: 100, max: 600_000 },
    default: 10_000,
    description: 'How long one APNs request may take before it is cancelled and reported ambiguous.',
  },
  apnsNoStreamsTimeoutMs: {
    env: 'PUSHKEEPER_APNS_NO_STREAMS_TIMEOUT_MS',
    type: { kind: 'integer', min: 100, max: 600_000 },
    default: 5_000,
    description: 'How long a send waits for a stream while APNs offers none (MAX_CONCURRENT_STREAMS 0); it then fails retryable and the connection is replaced.',
  },
  apnsHeartbeatMs: {
    env: 'PUSHKEEPER_APNS_HEARTBEAT_MS',
    type: { kind: 'integer', min: 1_000, max: 3_600_000 },
    default: 60_000,
    description: 'PING interval on idle APNs connections; a PING unanswered for this long marks the connection dead.',
  },
  guardFraction: {
    env: 'PUSHKEEPER_GUARD_FRACTION',
    type: { kind: 'number', min: 0, max: 1 },
    default: 0.5,
    description:
      'Mass-invalidation guard: when more than this fraction of a batch answers like a configuration error (DeviceTokenNotForTopic, BadDeviceToken in both environments), nothing is deleted and the notification fails naming the cause.',
  },
  guardMinDevices: {
    env: 'PUSHKEEPER_GUARD_MIN_DEVICES',
    type: { kind: 'integer', min: 1, max: 100_000 },
    default: 10,
    description:
      'Mass-invalidation guard: the fewest devices of a batch refused as BadDeviceToken in both environments that count as a configuration error (fewer are treated as bad tokens). DeviceTokenNotForTopic needs no minimum: a dead device never answers it.',
  },
  apnsUnreachableFailAfterMs: {
    env: 'PUSHKEEPER_APNS_UNREACHABLE_FAIL_AFTER_MS',
    type: { kind: 'integer', min: 0, max: 3_600_000 },
    default: 30_000,
    description:
      "Once an app's APNs endpoint has been unreachable (refused, TLS/CA failure, timeout) this long, its notifications fail with the reason instead of waiting for retries.",
  },
  apnsConnectTimeoutMs: {
    env: 'PUSHKEEPER_APNS_CONNECT_TIMEOUT_MS',
    type: { kind: 'integer', min: 100, max: 600_000 },
    default: 10_000,
    description: 'How long opening an APNs connection (TCP and TLS) may take.',
  },
  apnsClientIdleMs: {
    env: 'PUSHKEEPER_APNS_CLIENT_IDLE_MS',
    type: { kind: 'integer', min: 1_000, max: 86_400_000 },
    default: 600_000,
    description: "An app's APNs client unused this long is closed (its connections too); the next send opens a new one.",
  },
  feedbackIntervalHours: {
    env: 'PUSHKEEPER_FEEDBACK_INTERVAL_HOURS',
    type: { kind: 'number', min: 0.1, max: 24 * 7 },
    default: 12,
    description: 'How often each app with a feedback service is polled (per app overridable). Polling too often can look like an attack.',
  },
  invalidationRetentionDays: {
    env: 'PUSHKEEPER_INVALIDATION_RETENTION_DAYS',
    type: { kind: 'integer', min: 1, max: 3650 },
    default: 30,
    description: 'How long removed tokens stay listed at /v1/apps/:app/invalidations for backends to sync.',
  },
  notificationRetentionDays: {
    env: 'PUSHKEEPER_NOTIFICATION_RETENTION_DAYS',
    type: { kind: 'integer', min: 1, max: 3650 },
    default: 30,
    description: 'How long a finished notification (done, failed, cancelled) and its per-device outcomes are kept after it completed.',
  },
  bodyLimitBytes: {
    env: 'PUSHKEEPER_BODY_LIMIT_BYTES',
    type: { kind: 'integer', min: 1024, max: 64 * 1024 * 1024 },
    default: 1024 * 1024,
    description: 'Largest JSON request body accepted (NDJSON imports have their own streaming limit per line).',
  },
  httpRequestTimeoutMs: {
    env: 'PUSHKEEPER_HTTP_REQUEST_TIMEOUT_MS',
    type: { kind: 'integer', min: 100, max: 3_600_000 },
    default: 120_000,
    description:
      'Most time a client may take to send one whole request, headers and body; a slower one gets 408 and is disconnected. Split NDJSON imports that take longer.',
  },
  httpHeadersTimeoutMs: {
    env: 'PUSHKEEPER_HTTP_HEADERS_TIMEOUT_MS',
    type: { kind: 'integer', min: 100, max: 600_000 },
    default: 10_000,
    description: 'Most time a client may take to send the request headers (at most the request timeout).',
  },
  httpIdleTimeoutMs: {
    env: 'PUSHKEEPER_HTTP_IDLE_TIMEOUT_MS',
    type: { kind: 'integer', min: 100, max: 3_600_000 },
    default: 30_000,
    description: 'A connection that sends nothing for this long while a request is open is closed.',
  },
  httpKeepAliveTimeoutMs: {
    env: 'PUSHKEEPER_HTTP_KEEP_ALIVE_TIMEOUT_MS',
    type: { kind: 'integer', min: 100, max: 600_000 },
    default: 72_000,
    description:
      'How long an idle keep-alive connection stays open between requests; longer than the usual 60 s of load balancers, so they never reuse a connection the server just closed.',
  },
  maxRecipientsPerRequest: {
    env: 'PUSHKEEPER_MAX_RECIPIENTS',
    type: { kind: 'integer', min: 1, max: 100_000 },
    default: 10_000,
    description: 'Most tokens or aliases one push request may list.',
  },
  rateLimitPerKey: {
    env: 'PUSHKEEPER_RATE_LIMIT_PER_KEY',
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: 6_000,
    description: 'Requests per minute one API key may make.',
  },
  broadcastRateLimit: {
    env: 'PUSHKEEPER_BROADCAST_RATE_LIMIT',
    type: { kind: 'integer', min: 1, max: 10_000 },
    default: 10,
    description: 'Pushes to `all` per app per hour.',
  },
  publishableRegistrationsPerHour: {
    env: 'PUSHKEEPER_PUBLISHABLE_REGISTRATIONS_PER_HOUR',
    type: { kind: 'integer', min: 1, max: 10_000 },
    default: 60,
    description: 'Registrations per device token per hour accepted from publishable keys.',
  },
  workerConcurrency: {
    env: 'PUSHKEEPER_WORKER_CONCURRENCY',
    type: { kind: 'integer', min: 1, max: 256 },
    default: 4,
    description: 'Fan-out batches one process sends at once.',
  },
  batchSize: {
    env: 'PUSHKEEPER_BATCH_SIZE',
    type: { kind: 'integer', min: 1, max: 10_000 },
    default: 5_000,
    description:
      'Devices per send job: the unit a broadcast checkpoints by. A crash re-sends at most this many devices per running send job (PUSHKEEPER_WORKER_CONCURRENCY); larger batches cost less per device (docs/benchmarks.md).',
  },
  lastSuccessIntervalHours: {
    env: 'PUSHKEEPER_LAST_SUCCESS_INTERVAL_HOURS',
    type: { kind: 'number', min: 0, max: 24 * 30 },
    default: 24,
    description:
      "How stale a device's lastSuccessAt may get: a push APNs accepted rewrites it only when it is older than this (0 = every accepted push). A daily broadcast then writes each device at most once a day.",
  },
  shutdownTimeoutMs: {
    env: 'PUSHKEEPER_SHUTDOWN_TIMEOUT_MS',
    type: { kind: 'integer', min: 0, max: 600_000 },
    default: 30_000,
    description: 'How long SIGTERM waits for in-flight work to drain before exiting.',
  },
  queueHeartbeatSeconds: {
    env: 'PUSHKEEPER_QUEUE_HEARTBEAT_SECONDS',
    type: { kind: 'integer', min: 10, max: 3_600 },
    default: 30,
    description:
      "PostgreSQL queue: a running job's liveness interval; a killed worker's jobs are taken over by another worker after about this long (pg-boss's minimum is 10).",
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
