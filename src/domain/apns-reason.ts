/**
 * Every status and reason APNs documents (Apple, "Handling notification responses from APNs",
 * Table 2), each with exactly one disposition: what a provider
 * must do about it. This table is the single place that decides retry, invalidation and reauth.
 */
export type Disposition =
  /** The token is dead for this topic: remove it (subject to the re-registration rule). */
  | 'invalidate-token'
  /** Try again later; `backoff` says whether to wait (exponential, jittered) or resend at once. */
  | 'retry'
  /** The credentials or the connection's auth are wrong: stop using them until fixed. */
  | 'reauth'
  /** Fixing the request is the only cure; never retried. */
  | 'permanent'
  /** 400 BadDeviceToken: malformed, or a token of the other environment (sandbox vs production). */
  | 'environment-mismatch';

/** What a rejection is about: one device, the whole notification, the credentials, or the connection. */
export type RejectionScope = 'device' | 'notification' | 'credentials' | 'connection';

export interface ReasonRule {
  readonly status: number;
  readonly disposition: Disposition;
  readonly backoff: boolean;
  readonly scope: RejectionScope;
  /** Sent again with the same apns-id without counting as a new attempt (APNs did not process it). */
  readonly notProcessed: boolean;
  readonly description: string;
}

function rule(
  status: number,
  disposition: Disposition,
  scope: RejectionScope,
  description: string,
  extra: { backoff?: boolean; notProcessed?: boolean } = {},
): ReasonRule {
  return { status, disposition, scope, description, backoff: extra.backoff ?? false, notProcessed: extra.notProcessed ?? false };
}

export const APNS_REASONS = {
  // 400
  BadCollapseId: rule(400, 'permanent', 'notification', 'The collapse identifier exceeds 64 bytes.'),
  BadDeviceToken: rule(
    400,
    'environment-mismatch',
    'device',
    'The token is malformed or belongs to the other environment (Apple: "verify that the request contains a valid token and that the token matches the environment").',
  ),
  BadExpirationDate: rule(400, 'permanent', 'notification', 'apns-expiration is not valid.'),
  BadMessageId: rule(400, 'permanent', 'notification', 'apns-id is not valid.'),
  BadPriority: rule(400, 'permanent', 'notification', 'apns-priority is not valid.'),
  BadTopic: rule(400, 'permanent', 'notification', 'apns-topic is not valid.'),
  // Apple: "The device token doesn't match the specified topic" — the token is not this app's.
  DeviceTokenNotForTopic: rule(400, 'invalidate-token', 'device', 'The token does not belong to this topic.'),
  DuplicateHeaders: rule(400, 'permanent', 'notification', 'A header was repeated.'),
  // Apple lists IdleTimeout as a 400 reason; it is about the connection, so resend on a new one.
  IdleTimeout: rule(400, 'retry', 'connection', 'The connection was idle too long.', { notProcessed: true }),
  InvalidPushType: rule(400, 'permanent', 'notification', 'apns-push-type is not valid.'),
  MissingDeviceToken: rule(400, 'permanent', 'device', 'No device token in the path.'),
  MissingTopic: rule(400, 'permanent', 'notification', 'apns-topic is required and missing.'),
  PayloadEmpty: rule(400, 'permanent', 'notification', 'The payload is empty.'),
  TopicDisallowed: rule(400, 'permanent', 'notification', 'Pushing to this topic is not allowed.'),
  // 403
  BadCertificate: rule(403, 'reauth', 'credentials', 'The client certificate is not valid.'),
  BadCertificateEnvironment: rule(403, 'reauth', 'credentials', 'The certificate is for the other environment.'),
  // Apple: "The provider token is stale and a new token should be generated." APNs did not process
  // the push, so it is resent with the same apns-id once a new token exists.
  ExpiredProviderToken: rule(403, 'retry', 'credentials', 'The provider token is older than one hour.', {
    notProcessed: true,
  }),
  Forbidden: rule(403, 'reauth', 'credentials', 'The action is not allowed for these credentials.'),
  InvalidProviderToken: rule(403, 'reauth', 'credentials', 'The provider token is not valid or its key is unknown.'),
  MissingProviderToken: rule(403, 'reauth', 'credentials', 'No certificate and no provider token.'),
  UnrelatedKeyIdInToken: rule(
    403,
    'reauth',
    'credentials',
    "The token's key id is unrelated to the key of the connection's first push; use a new connection.",
  ),
  BadEnvironmentKeyIdInToken: rule(403, 'reauth', 'credentials', "The token's key is scoped to the other environment."),
  // 404, 405
  BadPath: rule(404, 'permanent', 'notification', 'The request path is not valid.'),
  MethodNotAllowed: rule(405, 'permanent', 'notification', 'Only POST is allowed.'),
  // 410: Apple: "stop sending notifications to that device token unless it is re-registered".
  ExpiredToken: rule(410, 'invalidate-token', 'device', 'The device token has expired.'),
  Unregistered: rule(410, 'invalidate-token', 'device', 'The token is no longer active for the topic.'),
  // 413
  PayloadTooLarge: rule(413, 'permanent', 'notification', 'The payload is too large.'),
  // 429
  TooManyProviderTokenUpdates: rule(429, 'retry', 'credentials', 'The provider token changed too often.', {
    backoff: true,
  }),
  TooManyRequests: rule(429, 'retry', 'device', 'Too many requests to the same device token.', { backoff: true }),
  // 500, 503: Apple: "you may retry after 15 minutes, optionally with back-off".
  InternalServerError: rule(500, 'retry', 'connection', 'APNs had an internal error.', { backoff: true }),
  ServiceUnavailable: rule(503, 'retry', 'connection', 'APNs is unavailable.', { backoff: true }),
  Shutdown: rule(503, 'retry', 'connection', 'The APNs server is shutting down; reconnect.', { backoff: true }),
} as const satisfies Record<string, ReasonRule>;

export type ApnsReason = keyof typeof APNS_REASONS;
export const APNS_REASON_NAMES = Object.keys(APNS_REASONS) as readonly ApnsReason[];

export function isApnsReason(value: unknown): value is ApnsReason {
  return typeof value === 'string' && Object.hasOwn(APNS_REASONS, value);
}

/**
 * The rule for a reason, or — for a reason this table does not know (Apple adds some over time) —
 * a rule derived from the status alone, so a new reason never crashes or gets retried forever.
 */
export function classifyRejection(status: number, reason: string | undefined): ReasonRule & { known: boolean } {
  if (reason !== undefined && isApnsReason(reason)) return { ...APNS_REASONS[reason], known: true };
  const description = `Unknown reason ${JSON.stringify(reason ?? '')} with status ${status}.`;
  if (status === 410) return { ...rule(410, 'invalidate-token', 'device', description), known: false };
  if (status === 429) return { ...rule(429, 'retry', 'connection', description, { backoff: true }), known: false };
  if (status >= 500) return { ...rule(status, 'retry', 'connection', description, { backoff: true }), known: false };
  if (status === 403) return { ...rule(403, 'reauth', 'credentials', description), known: false };
  return { ...rule(status, 'permanent', 'notification', description), known: false };
}
