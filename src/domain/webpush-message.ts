/**
 * The headers of a push request (RFC 8030 §5) and the plaintext size rule (RFC 8291 §4), as pure
 * rules: TTL (required), Urgency (from the message priority), Topic (from the collapse key).
 */
import { createHash } from 'node:crypto';
import { fail, ok, problem, type Result } from './result.ts';

/** RFC 8030 §7.2: a push service need not accept a body larger than 4096 octets. */
export const WEBPUSH_MAX_BODY_BYTES = 4096;
/** RFC 8188 §2.1 header with a 65-octet keyid: salt 16 + rs 4 + idlen 1 + keyid 65. */
export const WEBPUSH_HEADER_BYTES = 86;
/** RFC 8291 §4: 4096 − 86 (header) − 1 (padding delimiter) − 16 (AES-GCM tag) = 3993. */
export const WEBPUSH_MAX_PLAINTEXT_BYTES = WEBPUSH_MAX_BODY_BYTES - WEBPUSH_HEADER_BYTES - 1 - 16;
/** RFC 8030 §5.2: TTL is parsed into a 31-bit unsigned integer at least; larger counts as 2^31. */
export const WEBPUSH_MAX_TTL_SECONDS = 2 ** 31 - 1;
/** RFC 8030 §5.4: a topic is at most 32 characters of the URL-safe base64 alphabet. */
export const WEBPUSH_MAX_TOPIC_LENGTH = 32;

/** RFC 8030 §5.3. */
export type Urgency = 'very-low' | 'low' | 'normal' | 'high';
export const URGENCIES: readonly Urgency[] = ['very-low', 'low', 'normal', 'high'];

/** A message's priority as the push request gives it: the shared words, or APNs' numbers. */
export type MessagePriority = 'high' | 'normal' | 'low' | 'very-low' | 10 | 5 | 1;

/**
 * Urgency from the priority. APNs 10 ("deliver immediately") is `high`, 5 ("consider power") is
 * `normal`, 1 ("prioritise power") is `low`. Apple asks for `high` when a push must show at once.
 */
export function urgencyFromPriority(priority: MessagePriority | undefined): Urgency {
  switch (priority) {
    case 'high':
    case 10:
      return 'high';
    case 'low':
    case 1:
      return 'low';
    case 'very-low':
      return 'very-low';
    default:
      return 'normal';
  }
}

export function isUrgency(value: unknown): value is Urgency {
  return typeof value === 'string' && (URGENCIES as readonly string[]).includes(value);
}

/** TTL is mandatory (RFC 8030 §5.2): whole seconds, 0 meaning "deliver now or drop". */
export function checkTtl(ttl: unknown): Result<number> {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > WEBPUSH_MAX_TTL_SECONDS) {
    return fail(
      problem(
        'PK_ERR_WEBPUSH_OPTIONS_INVALID',
        `TTL must be whole seconds from 0 to ${WEBPUSH_MAX_TTL_SECONDS}.`,
        'ttl-invalid',
      ),
    );
  }
  return ok(ttl);
}

const TOPIC = /^[A-Za-z0-9_-]+$/;

/** A Topic header value a push service accepts as it is (RFC 8030 §5.4). */
export function isValidTopic(topic: string): boolean {
  return topic.length > 0 && topic.length <= WEBPUSH_MAX_TOPIC_LENGTH && TOPIC.test(topic);
}

/**
 * Topic from a collapse key. A key that is already a valid topic is used as it is — unless its
 * length is ≡ 1 (mod 4): Apple's push service decodes topics as base64url and answers such ones
 * `400 BadWebPushTopic` (reported in public issues), so those are derived too. Any other key (too
 * long, other characters) becomes base64url(SHA-256(key))[0..32): deterministic, so the same key
 * always replaces the same stored message, and 32 characters always decode. The topic is not
 * encrypted and reaches the push service in clear (RFC 8030 §5.4): hashing also keeps the key's
 * text away from it.
 */
export function topicFromCollapseKey(collapseKey: string): string {
  if (isValidTopic(collapseKey) && collapseKey.length % 4 !== 1) return collapseKey;
  return createHash('sha256')
    .update(collapseKey, 'utf8')
    .digest('base64url')
    .slice(0, WEBPUSH_MAX_TOPIC_LENGTH);
}

/**
 * The plaintext of one aes128gcm record must leave room for the header, the delimiter, any padding
 * and the tag inside 4096 octets (RFC 8291 §4). Checked before encrypting, naming the byte count.
 */
export function checkWebPushPlaintext(byteLength: number, paddingBytes = 0): Result<void> {
  const limit = WEBPUSH_MAX_PLAINTEXT_BYTES - paddingBytes;
  if (byteLength > limit) {
    return fail(
      problem(
        'PK_ERR_WEBPUSH_PAYLOAD_TOO_LARGE',
        `The Web Push payload is ${byteLength} bytes; at most ${limit} fit one encrypted record of ${WEBPUSH_MAX_BODY_BYTES} bytes.`,
        'plaintext-too-large',
        { bytes: byteLength, limit },
      ),
    );
  }
  return ok(undefined);
}
