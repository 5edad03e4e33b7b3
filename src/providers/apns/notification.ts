/**
 * A notification for one device and the HTTP/2 request it becomes (Apple, "Sending notification
 * requests to APNs": path, headers, payload limits). Everything is validated with the
 * domain rules before the first byte is written; `apns-topic` is derived from the bundle id and the
 * push type, never taken from the caller; the apns-id is fixed here so every resend reuses it.
 */
import {
  checkPayloadBytes,
  type DeviceToken,
  fail,
  ok,
  parseDeviceToken,
  parseNotificationOptions,
  type Priority,
  problem,
  PUSH_TYPE_RULES,
  PUSH_TYPES,
  type PushType,
  type Result,
  serialisePayload,
  topicFor,
} from '../../domain/index.ts';
import { randomApnsId } from './random-apns-id.ts';

export interface ApnsNotification {
  /** Hex device token (any case; `<…>` NSData descriptions accepted). */
  readonly token: DeviceToken | string;
  /** The app's bundle id; the push type's topic suffix is added here (`.voip`, …). */
  readonly bundleId: string;
  /** Default `alert`. */
  readonly pushType?: PushType;
  /** Default: the push type's default (10, or 5 for background). */
  readonly priority?: Priority;
  /** Epoch seconds; 0 = deliver once, do not store. */
  readonly expiration?: number;
  readonly collapseId?: string;
  /** Canonical lower-case UUID; generated when absent. */
  readonly apnsId?: string;
  /**
   * The JSON payload as an object (serialised and checked here) or as bytes (size checked only).
   * To send one payload to many devices, serialise it once with `serialiseApnsPayload` and pass the
   * same Buffer to every notification: it is written as is, never copied.
   */
  readonly payload: Buffer | object;
}

export interface PreparedRequest {
  readonly apnsId: string;
  readonly token: DeviceToken;
  readonly pushType: PushType;
  readonly topic: string;
  /** HTTP/2 request headers; the client sets `authorization` before each attempt. */
  readonly headers: Record<string, string>;
  readonly payload: Buffer;
}

const BUNDLE_ID = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;

/** Serialises a payload object once, checking Apple's structure and size rules for the push type. */
export function serialiseApnsPayload(payload: object, pushType: PushType = 'alert'): Result<Buffer> {
  const serialised = serialisePayload(payload, pushType);
  return serialised.ok ? ok(serialised.value.bytes) : serialised;
}

/**
 * `knownBundleIds` lets a caller skip re-checking bundle ids it has already seen pass (a client sends
 * the same few ids millions of times).
 */
export function prepareNotification(
  notification: ApnsNotification,
  knownBundleIds?: Set<string>,
): Result<PreparedRequest> {
  const token = parseDeviceToken(notification.token);
  if (!token.ok) return token;
  if (knownBundleIds?.has(notification.bundleId) === true) {
    // checked before
  } else if (typeof notification.bundleId !== 'string' || !BUNDLE_ID.test(notification.bundleId)) {
    return fail(
      problem(
        'PK_ERR_TOPIC_INVALID',
        'bundleId must be a bundle identifier like com.example.app.',
        'bundle-id',
      ),
    );
  }
  const options = parsedOptions(notification);
  if (!options.ok) return options;
  const { pushType, priority } = options.value;
  const bytes = payloadBytes(notification.payload, pushType);
  if (!bytes.ok) return bytes;
  const apnsId = options.value.apnsId ?? randomApnsId();
  const topic = topicFor(notification.bundleId, pushType);
  const headers: Record<string, string> = {
    ':method': 'POST',
    ':path': `/3/device/${token.value}`,
    'apns-topic': topic,
    'apns-push-type': pushType,
    'apns-id': apnsId,
  };
  // Apple: "If you omit this header, APNs sets the notification priority to 10." One header less
  // on the common path; 5 and 1 are always sent.
  if (priority !== 10) headers['apns-priority'] = String(priority);
  if (options.value.expiration !== undefined) headers['apns-expiration'] = String(options.value.expiration);
  if (options.value.collapseId !== undefined)
    headers['apns-collapse-id'] = headerOctets(options.value.collapseId);
  return ok({ apnsId, token: token.value, pushType, topic, headers, payload: bytes.value });
}

/**
 * HTTP/2 header values are octets (RFC 9113 §8.2.1); the wire writes one octet per character. A
 * collapse id may be any UTF-8 text up to 64 octets (Apple), so its UTF-8 octets are carried as
 * one character each.
 */
function headerOctets(value: string): string {
  return /^[\x00-\x7f]*$/.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
}

/** Each push type's options when the caller sets none (the common case): computed once. */
const DEFAULT_OPTIONS = new Map(
  PUSH_TYPES.map((pushType) => [
    pushType,
    parseNotificationOptions({ pushType }) as ReturnType<typeof parseNotificationOptions>,
  ]),
);

function parsedOptions(notification: ApnsNotification): ReturnType<typeof parseNotificationOptions> {
  const { pushType, priority, expiration, collapseId, apnsId } = notification;
  if (
    priority === undefined &&
    expiration === undefined &&
    collapseId === undefined &&
    apnsId === undefined
  ) {
    const defaults = DEFAULT_OPTIONS.get(pushType ?? 'alert');
    if (defaults !== undefined) return defaults;
  }
  return parseNotificationOptions({ pushType, priority, expiration, collapseId, apnsId });
}

/** Bytes are checked for size only and sent as they are; objects are serialised and checked. */
function payloadBytes(payload: Buffer | object, pushType: PushType): Result<Buffer> {
  if (Buffer.isBuffer(payload)) {
    const length = payload.byteLength;
    if (length > 0 && length <= PUSH_TYPE_RULES[pushType].maxPayloadBytes) return ok(payload);
    const checked = checkPayloadBytes(payload, pushType);
    return checked.ok ? ok(payload) : checked;
  }
  const serialised = serialisePayload(payload, pushType);
  return serialised.ok ? ok(serialised.value.bytes) : serialised;
}
