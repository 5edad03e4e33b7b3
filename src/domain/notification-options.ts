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

export function parseCollapseId(value: unknown): Result<string> {
  if (typeof value !== 'string' || value.length === 0) {
    return fail(problem('PK_ERR_COLLAPSE_ID_INVALID', 'The collapse id must be a non-empty string.', 'empty'));
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

/** All option rules at once, including those that tie the priority to the push type. */
export function parseNotificationOptions(input: NotificationOptionsInput = {}): Result<NotificationOptions> {
  const pushTypeValue = input.pushType ?? 'alert';
  if (!isPushType(pushTypeValue)) {
    return fail(problem('PK_ERR_PUSH_TYPE_INVALID', 'Unknown push type.', 'unknown'));
  }
  const rule = PUSH_TYPE_RULES[pushTypeValue];
  let priority: Priority = rule.defaultPriority;
  if (input.priority !== undefined) {
    const parsed = parsePriority(input.priority);
    if (!parsed.ok) return parsed;
    if (!(rule.priorities as readonly number[]).includes(parsed.value)) {
      return fail(
        problem(
          'PK_ERR_PRIORITY_NOT_ALLOWED',
          `Push type ${pushTypeValue} allows priority ${rule.priorities.join(' or ')}, not ${parsed.value}.`,
          'priority-not-allowed',
          { pushType: pushTypeValue, allowed: rule.priorities },
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
  if (input.expiration !== undefined) {
    const parsed = parseExpiration(input.expiration);
    if (!parsed.ok) return parsed;
    options.expiration = parsed.value;
  }
  if (input.collapseId !== undefined) {
    const parsed = parseCollapseId(input.collapseId);
    if (!parsed.ok) return parsed;
    options.collapseId = parsed.value;
  }
  if (input.apnsId !== undefined) {
    const parsed = parseApnsId(input.apnsId);
    if (!parsed.ok) return parsed;
    options.apnsId = parsed.value;
  }
  if (input.recordDeliveries !== undefined) {
    if (typeof input.recordDeliveries !== 'boolean') {
      return fail(problem('PK_ERR_VALIDATION', 'options.recordDeliveries must be true or false.', 'record-deliveries-not-boolean'));
    }
    // Stored only when on: the default leaves the options as they were.
    if (input.recordDeliveries) options.recordDeliveries = true;
  }
  return ok(options);
}
