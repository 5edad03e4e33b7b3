/**
 * The one catalogue of error codes. Codes are the API: stable, asserted by tests, mapped to HTTP
 * statuses at the edge. Messages are for people and may be reworded at any time.
 * docs/errors.md lists every entry and test/errors.test.ts keeps the two equal.
 */
export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

export const ERROR_CATALOGUE = {
  // --- input ------------------------------------------------------------------------------------
  PK_ERR_VALIDATION: { status: 400, message: 'The request is not valid.' },
  PK_ERR_TOKEN_INVALID: { status: 400, message: 'The device token is not a valid APNs token.' },
  PK_ERR_PUSH_TYPE_INVALID: { status: 400, message: 'Unknown push type.' },
  PK_ERR_PRIORITY_INVALID: { status: 400, message: 'Priority must be 1, 5 or 10.' },
  PK_ERR_PRIORITY_NOT_ALLOWED: { status: 400, message: 'This push type does not allow that priority.' },
  PK_ERR_EXPIRATION_INVALID: {
    status: 400,
    message: 'Expiration must be a whole number of epoch seconds (0 allowed).',
  },
  PK_ERR_COLLAPSE_ID_INVALID: { status: 400, message: 'The collapse id must be 1 to 64 bytes of UTF-8.' },
  PK_ERR_APNS_ID_INVALID: { status: 400, message: 'apns-id must be a canonical lower-case UUID.' },
  PK_ERR_TOPIC_INVALID: { status: 400, message: 'The topic is not valid for this push type.' },
  PK_ERR_PAYLOAD_INVALID: { status: 400, message: 'The payload is not a valid APNs payload.' },
  PK_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: "The payload exceeds the push type's size limit." },
  PK_ERR_PUSH_TYPE_NEEDS_TOKEN_AUTH: {
    status: 400,
    message: 'This push type can only be sent with token (.p8) authentication.',
  },
  PK_ERR_ENVIRONMENT_INVALID: { status: 400, message: 'Environment must be "production" or "sandbox".' },
  PK_ERR_ALIAS_INVALID: { status: 400, message: 'The alias is not valid.' },
  PK_ERR_TAG_INVALID: { status: 400, message: 'A tag is not valid.' },
  PK_ERR_LOCALE_INVALID: { status: 400, message: 'The locale is not valid.' },
  PK_ERR_AUDIENCE_INVALID: { status: 400, message: 'The audience is not valid.' },
  PK_ERR_TOO_MANY_RECIPIENTS: { status: 400, message: 'Too many recipients in one request.' },
  PK_ERR_CURSOR_INVALID: { status: 400, message: 'The pagination cursor is not valid.' },
  PK_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  PK_ERR_CREDENTIALS_INVALID: { status: 400, message: 'The APNs credentials are not valid.' },
  PK_ERR_ENDPOINT_INVALID: { status: 400, message: 'An endpoint URL is not valid.' },
  PK_ERR_CA_INVALID: { status: 400, message: 'The CA is not one or more PEM certificates that parse.' },
  PK_ERR_WEBHOOK_INVALID: { status: 400, message: 'The webhook settings are not valid.' },
  PK_ERR_IMPORT_LINE_INVALID: { status: 400, message: 'A line of the import is not valid.' },
  PK_ERR_FCM_TOKEN_INVALID: {
    status: 400,
    message: 'The device token is not a valid FCM registration token.',
  },
  PK_ERR_FCM_MESSAGE_INVALID: { status: 400, message: 'The message cannot be rendered as an FCM message.' },
  PK_ERR_FCM_SERVICE_ACCOUNT_INVALID: {
    status: 400,
    message: 'The FCM service account JSON is not valid (type, project_id, client_email, private_key).',
  },
  PK_ERR_OPTIONS_INVALID: { status: 400, message: 'The push options are not valid.' },
  PK_ERR_MEDIA_TYPE_UNSUPPORTED: {
    status: 415,
    message: 'This Content-Type is not accepted here (send application/json).',
  },
  PK_ERR_URI_TOO_LONG: { status: 414, message: 'A path segment is longer than any valid value.' },
  PK_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  PK_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time.' },
  // --- access -----------------------------------------------------------------------------------
  PK_ERR_UNAUTHENTICATED: {
    status: 401,
    message: 'This API key is not known to this server: check it for typos, or use a key of this installation.',
  },
  PK_ERR_FORBIDDEN: { status: 403, message: 'This key may not do that.' },
  PK_ERR_NOT_FOUND: { status: 404, message: 'Not found.' },
  PK_ERR_APP_NOT_FOUND: { status: 404, message: 'App not found.' },
  PK_ERR_DEVICE_NOT_FOUND: { status: 404, message: 'Device not found.' },
  PK_ERR_NOTIFICATION_NOT_FOUND: { status: 404, message: 'Notification not found.' },
  PK_ERR_KEY_NOT_FOUND: { status: 404, message: 'API key not found.' },
  PK_ERR_CONFLICT: { status: 409, message: 'The request conflicts with the current state.' },
  PK_ERR_IDEMPOTENCY_CONFLICT: {
    status: 409,
    message: 'This Idempotency-Key was used with a different request.',
  },
  PK_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests; retry later.' },
  PK_ERR_API_KEY_MISSING: {
    status: 401,
    message: 'No API key was sent: send it as the header `Authorization: Bearer <key>`.',
  },
  PK_ERR_API_KEY_HEADER: {
    status: 401,
    message: 'The API key was sent in X-API-Key: send it as `Authorization: Bearer <key>` instead.',
  },
  PK_ERR_API_KEY_SCHEME: {
    status: 401,
    message: 'The Authorization header must be `Bearer <key>` (the word Bearer, a space, then the key).',
  },
  PK_ERR_API_KEY_REVOKED: {
    status: 401,
    message: 'This API key was revoked: use another key of the app, or create one with `pushkeeper keys create`.',
  },
  // --- availability -----------------------------------------------------------------------------
  PK_ERR_UNAVAILABLE: { status: 503, message: 'The service cannot take work right now; retry later.' },
  PK_ERR_SHUTTING_DOWN: { status: 503, message: 'The server is shutting down; retry on another instance.' },
  PK_ERR_STORE_UNAVAILABLE: { status: 503, message: 'The database is not reachable.' },
  PK_ERR_QUEUE_UNAVAILABLE: { status: 503, message: 'The job queue is not reachable.' },
  PK_ERR_STORE_MIGRATION: { status: 500, message: 'A database migration failed.' },
  PK_ERR_DECRYPT_FAILED: {
    status: 500,
    message: 'Stored credentials could not be decrypted (wrong PUSHKEEPER_SECRET_KEY?).',
  },
  PK_ERR_DATA_DIR_IN_USE: {
    status: 503,
    message: 'Another Pushkeeper process is using this SQLite data directory; stop it, or use PostgreSQL for several processes.',
  },
  PK_ERR_CONFIG_INVALID: { status: 500, message: 'The configuration is not valid.' },
  PK_ERR_INTERNAL: { status: 500, message: 'Internal error.' },
  // --- APNs transport (a rejection by APNs is a value, not one of these) ---------------------------
  PK_ERR_APNS_TIMEOUT: {
    status: 504,
    message: 'APNs did not answer in time; the notification may or may not have been delivered.',
  },
  PK_ERR_APNS_CONNECTION: { status: 502, message: 'Could not reach APNs.' },
  PK_ERR_APNS_TLS: { status: 502, message: 'The TLS handshake with APNs failed.' },
  PK_ERR_APNS_PROTOCOL: { status: 502, message: 'APNs answered something that is not valid HTTP/2 APNs.' },
  PK_ERR_APNS_RETRIES_EXHAUSTED: { status: 502, message: 'APNs kept failing; retries exhausted.' },
  PK_ERR_APNS_CLIENT_CLOSED: { status: 503, message: 'The APNs client is closed.' },
  PK_ERR_APNS_CREDENTIALS_UNHEALTHY: {
    status: 502,
    message: "APNs refused the app's credentials; fix them before sending again.",
  },
  PK_ERR_APNS_NO_STREAMS: {
    status: 503,
    message: 'APNs offered no stream to send on (MAX_CONCURRENT_STREAMS 0) in time; nothing was sent, retry later.',
  },
  PK_ERR_APNS_UNREACHABLE: {
    status: 502,
    message: "APNs could not be reached (connection refused, TLS or CA failure, timeout); check the app's endpoints and CA.",
  },
  PK_ERR_APNS_UNAUTHORIZED: {
    status: 502,
    message: "APNs refused the app's credentials (403); replace the key or certificate.",
  },
  PK_ERR_APNS_TOPIC_MISMATCH: {
    status: 409,
    message: "Most devices answered DeviceTokenNotForTopic: the app's topic does not match them; nothing was deleted.",
  },
  PK_ERR_APNS_TOPIC_REFUSED: {
    status: 409,
    message: "APNs refused the app's topic (TopicDisallowed, BadTopic); nothing was deleted.",
  },
  PK_ERR_APNS_TOKENS_REJECTED: {
    status: 409,
    message: "Most devices were refused as BadDeviceToken in both environments: check the app's endpoints and team; nothing was deleted.",
  },
  // --- FCM transport (a rejection by FCM is a value, not one of these) ------------------------------
  PK_ERR_FCM_TIMEOUT: {
    status: 504,
    message: 'FCM did not answer in time; the message may or may not have been delivered.',
  },
  PK_ERR_FCM_CONNECTION: { status: 502, message: 'Could not reach FCM.' },
  PK_ERR_FCM_AUTH_FAILED: {
    status: 502,
    message: 'The OAuth token endpoint refused the service account or could not be reached.',
  },
  PK_ERR_FCM_RETRIES_EXHAUSTED: { status: 502, message: 'FCM kept failing; retries exhausted.' },
  PK_ERR_FCM_CLIENT_CLOSED: { status: 503, message: 'The FCM client is closed.' },
  // --- legacy feedback service ------------------------------------------------------------------
  PK_ERR_FEEDBACK_NOT_CONFIGURED: { status: 400, message: 'This app has no feedback service configured.' },
  PK_ERR_FEEDBACK_CONNECT: { status: 502, message: 'Could not connect to the feedback service.' },
  PK_ERR_FEEDBACK_TLS: { status: 502, message: 'The feedback service refused the TLS handshake.' },
  PK_ERR_FEEDBACK_TIMEOUT: { status: 504, message: 'The feedback service stopped sending.' },
  // --- Web Push (a push service's answer is a value, not one of these) -----------------------------
  PK_ERR_WEBPUSH_SUBSCRIPTION_INVALID: {
    status: 400,
    message: 'The Web Push subscription is not valid (endpoint, keys.p256dh or keys.auth).',
  },
  PK_ERR_WEBPUSH_ENDPOINT_NOT_ALLOWED: {
    status: 400,
    message: 'The subscription endpoint is not on a known push service host (nor on one the app allows).',
  },
  PK_ERR_WEBPUSH_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The Web Push payload exceeds 3993 bytes, the most one encrypted 4096-byte record holds.',
  },
  PK_ERR_WEBPUSH_OPTIONS_INVALID: { status: 400, message: 'A Web Push option (TTL, urgency or topic) is not valid.' },
  PK_ERR_WEBPUSH_VAPID_INVALID: { status: 400, message: 'The VAPID key pair or subject is not valid.' },
  PK_ERR_WEBPUSH_TIMEOUT: {
    status: 504,
    message: 'The push service did not answer in time; the message may or may not have been accepted.',
  },
  PK_ERR_WEBPUSH_CONNECTION: { status: 502, message: 'Could not reach the push service.' },
  PK_ERR_WEBPUSH_RETRIES_EXHAUSTED: { status: 502, message: 'The push service kept failing; retries exhausted.' },
  PK_ERR_WEBPUSH_CLIENT_CLOSED: { status: 503, message: 'The Web Push client is closed.' },
  // --- command line and start-up (the status is the nearest HTTP equivalent, for library callers) --
  PK_ERR_USAGE: { status: 400, message: 'The command line is not valid; see `pushkeeper <command> --help`.' },
  PK_ERR_SERVER_URL_INVALID: {
    status: 400,
    message: 'The server URL is not an http:// or https:// URL (e.g. http://127.0.0.1:8080).',
  },
  PK_ERR_FILE_UNREADABLE: { status: 400, message: 'A file named on the command line cannot be used.' },
  PK_ERR_NO_API_KEY: {
    status: 401,
    message: 'No API key to send: give --key, or set PUSHKEEPER_API_KEY or PUSHKEEPER_ADMIN_TOKEN.',
  },
  PK_ERR_SERVER_UNREACHABLE: { status: 503, message: 'The Pushkeeper server cannot be reached.' },
  PK_ERR_NOT_PUSHKEEPER: {
    status: 502,
    message: 'The server answered, but not as Pushkeeper does: check --url (PUSHKEEPER_URL).',
  },
  PK_ERR_WAIT_TIMEOUT: { status: 504, message: 'The notification was not final within --timeout.' },
  PK_ERR_DATA_DIR_UNWRITABLE: {
    status: 500,
    message: 'The data directory cannot be written: fix its permissions or set PUSHKEEPER_DATA_DIR.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, value);
}

/**
 * The exception form of a catalogue entry, for transport failures and for the edges. Business
 * rejections travel as Result values instead (domain/result.ts).
 */
export class PushkeeperError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    details?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message ?? ERROR_CATALOGUE[code].message, options);
    this.name = 'PushkeeperError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = details;
  }
}

export function isPushkeeperError(value: unknown): value is PushkeeperError {
  return value instanceof PushkeeperError;
}
