/**
 * A portable message (what a push request says once, for every platform) rendered into FCM HTTP v1's
 * `Message` resource (Firebase REST reference, `projects.messages`), without its target: the client
 * adds `token` per device. Rendering is done once per notification; the JSON text is kept so that a
 * send to N devices costs N string concatenations, not N serialisations.
 *
 * Mapping (proto3 JSON, snake_case field names as firebase-admin sends them):
 * - title, body, image → `notification` (shown by the system when the app is in the background);
 * - data → `data`, every value a string (FCM rejects any other JSON type); `url` travels as data
 *   key `url` because Android has no URL field;
 * - badge → `android.notification.notification_count`, sound → `android.notification.sound`;
 * - collapseKey → `android.collapse_key` and `android.notification.tag`, so a duplicate caused by a
 *   retry replaces the first on the device rather than stacking (FCM has no idempotency key);
 * - ttlSeconds → `android.ttl` as a Duration string (`"3600s"`: a JSON number is a type error),
 *   0 … 2,419,200 s (four weeks); priority → `android.priority` `"high"`/`"normal"`;
 * - FCM overrides: channelId → `android.notification.channel_id` (it belongs to the notification,
 *   not to `android`), plus icon, color, tag, clickAction, restrictedPackageName, directBootOk.
 *
 * Size: FCM limits data keys and values plus the notification text to 4096 bytes (2048 for topic
 * messages) and answers INVALID_ARGUMENT "message too big"; the check counts the same bytes.
 */
import { fail, ok, problem, type Result } from './result.ts';

export type PortableDataValue = string | number | boolean;

export interface PortableMessage {
  readonly title?: string;
  readonly body?: string;
  readonly data?: Readonly<Record<string, PortableDataValue>>;
  readonly badge?: number;
  readonly sound?: string;
  readonly image?: string;
  readonly url?: string;
  readonly collapseKey?: string;
  readonly ttlSeconds?: number;
  readonly priority?: 'high' | 'normal';
}

/** FCM-only settings merged over the portable message. */
export interface FcmOverrides {
  readonly channelId?: string;
  readonly icon?: string;
  /** `#rrggbb` */
  readonly color?: string;
  readonly tag?: string;
  readonly clickAction?: string;
  readonly restrictedPackageName?: string;
  readonly directBootOk?: boolean;
}

/** A v1 `Message` without its target, as JSON-ready values. */
export interface FcmMessageBody {
  readonly notification?: { readonly title?: string; readonly body?: string; readonly image?: string };
  readonly data?: Readonly<Record<string, string>>;
  readonly android?: Readonly<Record<string, unknown>>;
}

export interface RenderedFcmMessage {
  readonly message: FcmMessageBody;
  /** The message's JSON members without braces (`"notification":{…},"android":{…}`). */
  readonly membersJson: string;
  /** Bytes counted against FCM's limit: data keys and values plus notification title and body. */
  readonly payloadBytes: number;
}

export const FCM_PAYLOAD_LIMIT = 4096;
export const FCM_TOPIC_PAYLOAD_LIMIT = 2048;
/** Four weeks, FCM's longest `android.ttl`. */
export const FCM_MAX_TTL_SECONDS = 2_419_200;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function invalid(reason: string, message: string, details?: Record<string, unknown>) {
  return fail(problem('PK_ERR_FCM_MESSAGE_INVALID', message, reason, details));
}

/** FCM refuses `from`, `message_type` and keys starting with `google` or `gcm` (ErrorCode reference). */
export function isReservedFcmDataKey(key: string): boolean {
  const lower = key.toLowerCase();
  return (
    lower === 'from' || lower === 'message_type' || lower.startsWith('google') || lower.startsWith('gcm')
  );
}

const STRING_FIELDS = ['title', 'body', 'sound', 'image', 'url', 'collapseKey'] as const;
const OVERRIDE_STRINGS = [
  'channelId',
  'icon',
  'color',
  'tag',
  'clickAction',
  'restrictedPackageName',
] as const;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function renderData(message: PortableMessage): Result<Record<string, string> | undefined> {
  const input = message.data;
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    return invalid('data-not-object', '"data" must be an object of strings.');
  }
  // No prototype: a data key named "__proto__" is just a key.
  const data = Object.create(null) as Record<string, string>;
  let entries = 0;
  for (const key of Object.keys(input ?? {})) {
    const value = (input as Record<string, unknown>)[key];
    if (key.length === 0) return invalid('data-key-empty', 'A data key is empty.');
    if (isReservedFcmDataKey(key)) {
      return invalid(
        'reserved-data-key',
        `Data key "${key}" is reserved by FCM (from, message_type, google*, gcm*).`,
        { key },
      );
    }
    // FCM's data map is string→string; numbers and booleans are written as their text.
    if (
      typeof value === 'string' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      typeof value === 'boolean'
    ) {
      data[key] = String(value);
      entries += 1;
    } else {
      return invalid('data-value-type', `Data value "${key}" must be a string, number or boolean.`, { key });
    }
  }
  if (message.url !== undefined && !Object.hasOwn(data, 'url')) {
    data['url'] = message.url;
    entries += 1;
  }
  return ok(entries === 0 ? undefined : data);
}

function utf8Length(value: string | undefined): number {
  return value === undefined ? 0 : Buffer.byteLength(value, 'utf8');
}

export interface RenderFcmOptions {
  /** Topic messages have half the payload limit. Default false. */
  readonly topic?: boolean;
}

export function renderFcmMessage(
  message: PortableMessage,
  overrides: FcmOverrides = {},
  options: RenderFcmOptions = {},
): Result<RenderedFcmMessage> {
  if (typeof message !== 'object' || message === null)
    return invalid('not-object', 'The message must be an object.');
  for (const field of STRING_FIELDS) {
    const value = message[field];
    if (value !== undefined && typeof value !== 'string')
      return invalid('not-a-string', `"${field}" must be a string.`, { field });
  }
  for (const field of OVERRIDE_STRINGS) {
    const value = overrides[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      return invalid('not-a-string', `FCM override "${field}" must be a non-empty string.`, { field });
    }
  }
  if (message.image !== undefined && !isHttpUrl(message.image)) {
    return invalid('image-not-url', '"image" must be an http(s) URL.');
  }
  const { badge, ttlSeconds, priority } = message;
  if (badge !== undefined && !(Number.isInteger(badge) && badge >= 0 && badge <= 0x7fffffff)) {
    return invalid('badge-invalid', '"badge" must be a whole number from 0 to 2147483647.');
  }
  if (
    ttlSeconds !== undefined &&
    !(Number.isInteger(ttlSeconds) && ttlSeconds >= 0 && ttlSeconds <= FCM_MAX_TTL_SECONDS)
  ) {
    return invalid(
      'ttl-invalid',
      `"ttlSeconds" must be a whole number from 0 to ${FCM_MAX_TTL_SECONDS} (four weeks).`,
    );
  }
  if (priority !== undefined && priority !== 'high' && priority !== 'normal') {
    return invalid('priority-invalid', '"priority" must be "high" or "normal".');
  }
  if (overrides.color !== undefined && !/^#[0-9a-fA-F]{6}$/.test(overrides.color)) {
    return invalid('color-invalid', 'FCM override "color" must be #rrggbb.');
  }
  if (overrides.directBootOk !== undefined && typeof overrides.directBootOk !== 'boolean') {
    return invalid('not-a-boolean', 'FCM override "directBootOk" must be a boolean.');
  }
  const data = renderData(message);
  if (!data.ok) return data;

  const out: Mutable<FcmMessageBody> = {};
  if (message.title !== undefined || message.body !== undefined || message.image !== undefined) {
    out.notification = {
      ...(message.title === undefined ? {} : { title: message.title }),
      ...(message.body === undefined ? {} : { body: message.body }),
      ...(message.image === undefined ? {} : { image: message.image }),
    };
  }
  if (data.value !== undefined) out.data = data.value;
  if (out.notification === undefined && out.data === undefined) {
    return invalid('empty', 'The message has neither a title, body or image nor data.');
  }
  const androidNotification: Record<string, unknown> = {};
  if (overrides.channelId !== undefined) androidNotification['channel_id'] = overrides.channelId;
  if (message.sound !== undefined) androidNotification['sound'] = message.sound;
  if (badge !== undefined) androidNotification['notification_count'] = badge;
  const tag = overrides.tag ?? message.collapseKey;
  if (tag !== undefined && out.notification !== undefined) androidNotification['tag'] = tag;
  if (overrides.icon !== undefined) androidNotification['icon'] = overrides.icon;
  if (overrides.color !== undefined) androidNotification['color'] = overrides.color.toLowerCase();
  if (overrides.clickAction !== undefined) androidNotification['click_action'] = overrides.clickAction;
  const android: Record<string, unknown> = {};
  if (message.collapseKey !== undefined) android['collapse_key'] = message.collapseKey;
  if (priority !== undefined) android['priority'] = priority;
  if (ttlSeconds !== undefined) android['ttl'] = `${ttlSeconds}s`;
  if (overrides.restrictedPackageName !== undefined)
    android['restricted_package_name'] = overrides.restrictedPackageName;
  if (overrides.directBootOk !== undefined) android['direct_boot_ok'] = overrides.directBootOk;
  if (Object.keys(androidNotification).length > 0) android['notification'] = androidNotification;
  if (Object.keys(android).length > 0) out.android = android;

  let payloadBytes = utf8Length(message.title) + utf8Length(message.body);
  for (const key in data.value ?? {}) payloadBytes += utf8Length(key) + utf8Length(data.value![key]);
  const limit = options.topic === true ? FCM_TOPIC_PAYLOAD_LIMIT : FCM_PAYLOAD_LIMIT;
  if (payloadBytes > limit) {
    return fail(
      problem(
        'PK_ERR_PAYLOAD_TOO_LARGE',
        `The Android (FCM) payload is ${payloadBytes} bytes; FCM allows ${limit} (data keys and values plus notification title and body).`,
        'fcm-payload-too-large',
        { platform: 'android', bytes: payloadBytes, limit },
      ),
    );
  }
  const json = JSON.stringify(out);
  return ok({ message: out, membersJson: json.slice(1, -1), payloadBytes });
}
