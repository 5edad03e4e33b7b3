/**
 * FCM HTTP v1's error model, each case with exactly one disposition — the FCM counterpart of
 * apns-reason.ts and the single place that decides what an FCM rejection means.
 *
 * FCM answers a failed `messages:send` with a `google.rpc.Status` body:
 * `{"error":{"code":404,"message":"…","status":"NOT_FOUND","details":[{"@type":
 * "type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`.
 * Classification prefers the `FcmError` detail's `errorCode` (Firebase, "ErrorCode" reference) and
 * falls back to the HTTP status only when that detail is absent: the Google front end answers
 * authentication, IAM and routing failures itself, without an `FcmError` ("FCM error codes" page).
 * A 404 without `FcmError` is a wrong URL, never a dead token: treating it as UNREGISTERED would
 * delete a whole registry over a typo.
 */
import type { Disposition, RejectionScope } from './apns-reason.ts';

/** The `FcmError.errorCode` values of the v1 API (Firebase, "ErrorCode" reference). */
export type FcmErrorCode =
  | 'UNSPECIFIED_ERROR'
  | 'INVALID_ARGUMENT'
  | 'UNREGISTERED'
  | 'SENDER_ID_MISMATCH'
  | 'QUOTA_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'THIRD_PARTY_AUTH_ERROR';

export interface FcmRule {
  readonly disposition: Disposition;
  readonly scope: RejectionScope;
  /** Wait (exponential with jitter, at least `Retry-After`) before trying again. */
  readonly backoff: boolean;
  /**
   * The token is dropped for this device, but the same answer for most of a batch means the
   * project's configuration is wrong (a service account of another project), not that every
   * device left: a registry guard must refuse such a mass deletion.
   */
  readonly misconfigurationCandidate: boolean;
  /** Refresh the OAuth access token and resend once (401 from the front end). */
  readonly refreshCredentials: boolean;
  readonly description: string;
}

function rule(
  disposition: Disposition,
  scope: RejectionScope,
  description: string,
  extra: { backoff?: boolean; misconfigurationCandidate?: boolean; refreshCredentials?: boolean } = {},
): FcmRule {
  return {
    disposition,
    scope,
    description,
    backoff: extra.backoff ?? false,
    misconfigurationCandidate: extra.misconfigurationCandidate ?? false,
    refreshCredentials: extra.refreshCredentials ?? false,
  };
}

export const FCM_ERROR_RULES = {
  UNSPECIFIED_ERROR: rule('permanent', 'notification', 'FCM gave no further information.'),
  // Split by fieldViolations in classifyFcmRejection (INVALID_ARGUMENT_TOKEN below): only an
  // error attributable to the token may delete it (Firebase, "Manage FCM registration tokens").
  INVALID_ARGUMENT: rule('permanent', 'notification', 'A field of the message is not valid.'),
  UNREGISTERED: rule(
    'invalidate-token',
    'device',
    'The app instance was unregistered (uninstalled, token expired after 270 days, or deleted).',
  ),
  SENDER_ID_MISMATCH: rule(
    'invalidate-token',
    'device',
    'The token belongs to another Firebase project than the one sending.',
    { misconfigurationCandidate: true },
  ),
  QUOTA_EXCEEDED: rule('retry', 'connection', 'A project, device or topic send quota was exceeded.', {
    backoff: true,
  }),
  UNAVAILABLE: rule('retry', 'connection', 'FCM is overloaded.', { backoff: true }),
  INTERNAL: rule('retry', 'connection', 'FCM had an internal error.', { backoff: true }),
  THIRD_PARTY_AUTH_ERROR: rule(
    'reauth',
    'credentials',
    "The project's APNs certificate/key or Web Push credentials were refused.",
  ),
} as const satisfies Record<FcmErrorCode, FcmRule>;

/** A token-shaped INVALID_ARGUMENT: the token itself cannot be a registration token. */
export const FCM_INVALID_TOKEN_RULE: FcmRule = rule(
  'invalidate-token',
  'device',
  'The registration token is not a valid FCM registration token.',
);

export const FCM_ERROR_CODES = Object.keys(FCM_ERROR_RULES) as readonly FcmErrorCode[];

export function isFcmErrorCode(value: unknown): value is FcmErrorCode {
  return typeof value === 'string' && Object.hasOwn(FCM_ERROR_RULES, value);
}

/** What a `google.rpc.Status` error body says, read leniently (HTML and garbage give all undefined). */
export interface FcmErrorBody {
  /** `error.status`, the canonical gRPC code name (`NOT_FOUND`, `UNAUTHENTICATED`, …). */
  readonly status: string | undefined;
  readonly message: string | undefined;
  /** `FcmError.errorCode`, when the detail is present. */
  readonly errorCode: string | undefined;
  /** `ErrorInfo.reason` (`ACCESS_TOKEN_EXPIRED`, `IAM_PERMISSION_DENIED`, …), when present. */
  readonly errorInfoReason: string | undefined;
  /** `BadRequest.fieldViolations[].field` paths (`message.token`, `message.data[0].value`, …). */
  readonly fieldViolations: readonly string[];
}

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

const EMPTY_BODY: FcmErrorBody = {
  status: undefined,
  message: undefined,
  errorCode: undefined,
  errorInfoReason: undefined,
  fieldViolations: [],
};

function shortString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 500) : undefined;
}

export function parseFcmErrorBody(text: string): FcmErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return EMPTY_BODY;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return EMPTY_BODY;
  const { status, message, details } = error as { status?: unknown; message?: unknown; details?: unknown };
  let errorCode: string | undefined;
  let errorInfoReason: string | undefined;
  const fieldViolations: string[] = [];
  if (Array.isArray(details)) {
    for (const detail of details as unknown[]) {
      if (typeof detail !== 'object' || detail === null) continue;
      const d = detail as Record<string, unknown>;
      const type = d['@type'];
      if (type === FCM_ERROR_TYPE) errorCode ??= shortString(d['errorCode']);
      else if (type === ERROR_INFO_TYPE) errorInfoReason ??= shortString(d['reason']);
      else if (type === BAD_REQUEST_TYPE && Array.isArray(d['fieldViolations'])) {
        for (const violation of d['fieldViolations'] as unknown[]) {
          const field = shortString((violation as { field?: unknown } | null)?.field);
          if (field !== undefined && fieldViolations.length < 20) fieldViolations.push(field);
        }
      }
    }
  }
  return {
    status: shortString(status),
    message: shortString(message),
    errorCode,
    errorInfoReason,
    fieldViolations,
  };
}

/** FCM's own wording for a string that cannot be a token ("FCM error codes", example 2). */
const NOT_A_TOKEN_TEXT = /not a valid FCM registration token/i;

/**
 * INVALID_ARGUMENT is about the token only when a field violation names the target, or the message
 * says the registration token is not valid — the one case where matching FCM's text is justified.
 * A violation elsewhere, or none at all, leaves the token alone.
 */
export function isTokenAttributed(body: FcmErrorBody): boolean {
  if (body.fieldViolations.length > 0) {
    return body.fieldViolations.every((field) => field === 'message.token' || field === 'message.fid');
  }
  return body.message !== undefined && NOT_A_TOKEN_TEXT.test(body.message);
}

export interface FcmClassification extends FcmRule {
  /** The FcmError code, or the front end's status name (`UNAUTHENTICATED`, `HTTP_502`, …). */
  readonly reason: string;
  /** Whether an FcmError detail decided (false: the HTTP status did). */
  readonly known: boolean;
}

/**
 * The disposition of one failed send. An `FcmError` detail decides when present; otherwise the
 * HTTP status does (Firebase, "FCM error codes": 401/403 from the front end carry none).
 */
export function classifyFcmRejection(httpStatus: number, body: FcmErrorBody): FcmClassification {
  const code = body.errorCode;
  if (code !== undefined && isFcmErrorCode(code)) {
    if (code === 'INVALID_ARGUMENT' && isTokenAttributed(body)) {
      return { ...FCM_INVALID_TOKEN_RULE, reason: code, known: true };
    }
    return { ...FCM_ERROR_RULES[code], reason: code, known: true };
  }
  const reason = body.status ?? `HTTP_${httpStatus}`;
  const description = `No FcmError detail; HTTP ${httpStatus} ${body.status ?? ''}`.trim();
  if (httpStatus === 401) {
    // An expired or revoked OAuth token: refresh once and resend once, then it is reauth.
    return {
      ...rule('reauth', 'credentials', description, { refreshCredentials: true }),
      reason,
      known: false,
    };
  }
  if (httpStatus === 403) return { ...rule('reauth', 'credentials', description), reason, known: false };
  if (httpStatus === 429 || httpStatus >= 500) {
    return { ...rule('retry', 'connection', description, { backoff: true }), reason, known: false };
  }
  if (httpStatus === 400 && body.status === 'INVALID_ARGUMENT' && isTokenAttributed(body)) {
    return { ...FCM_INVALID_TOKEN_RULE, reason: 'INVALID_ARGUMENT', known: false };
  }
  return { ...rule('permanent', 'notification', description), reason, known: false };
}
