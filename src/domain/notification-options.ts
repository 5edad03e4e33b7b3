/**
 * The per-notification APNs headers a caller may set, validated by the rules in Apple's
 * "Sending notification requests to APNs" header table.
 */
import { isPushType, PUSH_TYPE_RULES, type Priority, type PushType } from './push-type.ts';
import { fail, ok, problem, type Result } from './result.ts';

export const MAX_COLLAPSE_ID_BYTES = 64;

export interface NotificationOptions {
  readonly pushType: PushType;
  readonly priority: Priority;
  /** Epoch seconds; 0 = "attempt once, do not store". Absent = APNs' default storage policy. */
  readonly expiration?: number;
  readonly collapseId?: string;
  /** Canonical lower-case UUID; generated when absent so retries reuse it. */
  readonly apnsId?: string;
  /**
   * Keep a row per device APNs accepted (an audit trail), not only the devices that did not get it.
   * Off by default: the counts and the failures list need no row per delivered device.
   */
  readonly recordDeliveries?: boolean;
}

export interface NotificationOptionsInput {
  readonly pushType?: unknown;
  readonly priority?: unknown;
  readonly expiration?: unknown;
  readonly collapseId?: unknown;
  readonly apnsId?: unknown;
  readonly recordDeliveries?: unknown;
}

/** Every field a caller may send; anything else is refused, so a typo is never silently ignored. */
export const NOTIFICATION_OPTION_FIELDS = [
  'pushType',
  'priority',
  'expiration',
  'collapseId',
  'apnsId',
  'recordDeliveries',
] as const satisfies readonly (keyof NotificationOptionsInput)[];

/** Where the options travel in a push request: every field problem names its path. */
const FIELD_PREFIX = 'options.';

function withField(result: Result<never>, field: string): Result<never> {
  if (result.ok) return result;
  return fail({ ...result.error, details: { ...result.error.details, field: FIELD_PREFIX + field } });
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isCanonicalUuid(value: unknown): value is string {
  return typeof value === 'string' && CANONICAL_UUID.test(value);
}

export function parsePriority(value: unknown): Result<Priority> {
  if (value === 1 || value === 5 || value === 10) return ok(value);
  return fail(problem('PK_ERR_PRIORITY_INVALID', 'Priority must be 1, 5 or 10.', 'not-1-5-10'));
}

export function parseExpiration(value: unknown): Result<number> {
  // Apple: "a UNIX epoch date expressed in seconds (UTC)"; 0 means deliver once, do not store.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= 0xffffffff) {
    return ok(value);
  }
  return fail(
    problem('PK_ERR_EXPIRATION_INVALID', 'Expiration must be whole epoch seconds from 0 to 2^32-1.', 'not-epoch-seconds'),
  );
}

const HEADER_SAFE = /^(?![ \t])[^\u0000-\u001f\u007f]*(?<![ \t])$/;
/** The collapse-id character rule as a JSON Schema `pattern`, for the API description. */
export const COLLAPSE_ID_PATTERN = HEADER_SAFE.source;

export function parseCollapseId(value: unknown): Result<string> {
  if (typeof value !== 'string' || value.length === 0) {
    return fail(problem('PK_ERR_COLLAPSE_ID_INVALID', 'The collapse id must be a non-empty string.', 'empty'));
  }
  // It travels as the apns-collapse-id header: RFC 9113 §8.2.1 makes a field value with NUL, CR or
  // LF malformed, and one that starts or ends with a space or tab too. Other controls (and DEL)
  // are refused as well, rather than dropped or altered on the way to APNs.
  if (!HEADER_SAFE.test(value)) {
    return fail(
      problem(
        'PK_ERR_COLLAPSE_ID_INVALID',
        'The collapse id must not contain control characters or start or end with a space or tab.',
        'not-header-safe',
      ),
    );
  }
  // Apple: "The value of this key must not exceed 64 bytes" — bytes of UTF-8, not characters.
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_COLLAPSE_ID_BYTES) {
    return fail(
      problem('PK_ERR_COLLAPSE_ID_INVALID', `The collapse id is ${bytes} bytes; at most 64 are allowed.`, 'too-long', {
        bytes,
      }),
    );
  }
  return ok(value);
}

export function parseApnsId(value: unknown): Result<string> {
  if (isCanonicalUuid(value)) return ok(value);
  return fail(problem('PK_ERR_APNS_ID_INVALID', 'apns-id must be a canonical lower-case UUID.', 'not-canonical-uuid'));
}

/**
 * All option rules at once, including those that tie the priority to the push type. `input` is
 * whatever the caller sent as `options`: it must be an object of the known fields (absent = all
 * defaults); a field present with `null` is a wrong value, not a default.
 */
export function parseNotificationOptions(input: unknown = {}): Result<NotificationOptions> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail(
      problem('PK_ERR_OPTIONS_INVALID', 'options must be a JSON object.', 'not-object', { field: 'options' }),
    );
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(NOTIFICATION_OPTION_FIELDS as readonly string[]).includes(key)) {
      return fail(
        problem(
          'PK_ERR_OPTIONS_INVALID',
          `options.${key} is not a push option (known: ${NOTIFICATION_OPTION_FIELDS.join(', ')}).`,
          'unknown-field',
          { field: FIELD_PREFIX + key },
        ),
      );
    }
  }
  const fields = record as NotificationOptionsInput;
  const pushTypeValue = fields.pushType === undefined ? 'alert' : fields.pushType;
  if (!isPushType(pushTypeValue)) {
    return withField(fail(problem('PK_ERR_PUSH_TYPE_INVALID', 'Unknown push type.', 'unknown')), 'pushType');
  }
  const rule = PUSH_TYPE_RULES[pushTypeValue];
  let priority: Priority = rule.defaultPriority;
  if (fields.priority !== undefined) {
    const parsed = parsePriority(fields.priority);
    if (!parsed.ok) return withField(parsed, 'priority');
    if (!(rule.priorities as readonly number[]).includes(parsed.value)) {
      return fail(
        problem(
          'PK_ERR_PRIORITY_NOT_ALLOWED',
          `Push type ${pushTypeValue} allows priority ${rule.priorities.join(' or ')}, not ${parsed.value}.`,
          'priority-not-allowed',
          { pushType: pushTypeValue, allowed: rule.priorities, field: `${FIELD_PREFIX}priority` },
        ),
      );
    }
    priority = parsed.value;
  }
  const options: {
    pushType: PushType;
    priority: Priority;
    expiration?: number;
    collapseId?: string;
    apnsId?: string;
    recordDeliveries?: boolean;
  } = { pushType: pushTypeValue, priority };
  if (fields.expiration !== undefined) {
    const parsed = parseExpiration(fields.expiration);
    if (!parsed.ok) return withField(parsed, 'expiration');
    options.expiration = parsed.value;
  }
  if (fields.collapseId !== undefined) {
    const parsed = parseCollapseId(fields.collapseId);
    if (!parsed.ok) return withField(parsed, 'collapseId');
    options.collapseId = parsed.value;
  }
  if (fields.apnsId !== undefined) {
    const parsed = parseApnsId(fields.apnsId);
    if (!parsed.ok) return withField(parsed, 'apnsId');
    options.apnsId = parsed.value;
  }
  if (fields.recordDeliveries !== undefined) {
    if (typeof fields.recordDeliveries !== 'boolean') {
      return fail(
        problem('PK_ERR_OPTIONS_INVALID', 'options.recordDeliveries must be true or false.', 'not-boolean', {
          field: `${FIELD_PREFIX}recordDeliveries`,
        }),
      );
    }
    // Stored only when on: the default leaves the options as they were.
    if (fields.recordDeliveries) options.recordDeliveries = true;
  }
  return ok(options);
}
