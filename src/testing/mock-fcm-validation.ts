/**
 * What the mock FCM server checks in a `SendMessageRequest` before it looks at the target, and the
 * `google.rpc.Status` bodies it answers with (Firebase REST reference and "FCM error codes"; FCM
 * discovery document `fcm:v1`). Both snake_case and lowerCamelCase field names are accepted, as
 * Google's proto3 JSON parser does; unknown fields are refused with "Unknown name … Cannot find
 * field." and a BadRequest detail carrying the field path.
 */
export interface RpcError {
  readonly httpStatus: number;
  readonly body: Record<string, unknown>;
  readonly errorCode: string;
}

const GRPC_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** An FCM answer: `error.details` holds the FcmError (and, for a field, a BadRequest). */
export function fcmError(httpStatus: number, errorCode: string, message: string, field?: string): RpcError {
  const details: Record<string, unknown>[] = [
    { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode },
  ];
  if (field !== undefined) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field, description: message }],
    });
  }
  return {
    httpStatus,
    errorCode,
    body: { error: { code: httpStatus, message, status: GRPC_STATUS[httpStatus] ?? 'UNKNOWN', details } },
  };
}

/** A front-end answer (authentication, IAM, JSON mapping): no FcmError detail. */
export function frontEndError(
  httpStatus: number,
  message: string,
  detail: Record<string, unknown>,
  code: string,
): RpcError {
  return {
    httpStatus,
    errorCode: code,
    body: {
      error: { code: httpStatus, message, status: GRPC_STATUS[httpStatus] ?? 'UNKNOWN', details: [detail] },
    },
  };
}

/** The front end's 401: no FcmError, an ErrorInfo reason (Google's generic API error shape). */
export function unauthenticated(reason: string): RpcError {
  return frontEndError(
    401,
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason,
      domain: 'googleapis.com',
      metadata: { service: 'fcm.googleapis.com' },
    },
    'UNAUTHENTICATED',
  );
}

export function permissionDenied(reason: string, message: string): RpcError {
  return frontEndError(
    403,
    message,
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason,
      domain: 'googleapis.com',
      metadata: { service: 'fcm.googleapis.com' },
    },
    'PERMISSION_DENIED',
  );
}

function badRequest(field: string, message: string): RpcError {
  return frontEndError(
    400,
    message,
    {
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field, description: message }],
    },
    'INVALID_ARGUMENT',
  );
}

type Fields = Readonly<
  Record<string, 'string' | 'bool' | 'int' | 'object' | 'map' | 'duration' | 'array' | 'any'>
>;

const MESSAGE_FIELDS: Fields = {
  name: 'string',
  token: 'string',
  topic: 'string',
  condition: 'string',
  fid: 'string',
  data: 'map',
  notification: 'object',
  android: 'object',
  apns: 'any',
  webpush: 'any',
  fcm_options: 'any',
};
const NOTIFICATION_FIELDS: Fields = { title: 'string', body: 'string', image: 'string' };
const ANDROID_FIELDS: Fields = {
  collapse_key: 'string',
  priority: 'string',
  ttl: 'duration',
  restricted_package_name: 'string',
  data: 'map',
  notification: 'object',
  fcm_options: 'any',
  direct_boot_ok: 'bool',
  bandwidth_constrained_ok: 'bool',
  restricted_satellite_ok: 'bool',
};
const ANDROID_NOTIFICATION_FIELDS: Fields = {
  title: 'string',
  body: 'string',
  icon: 'string',
  color: 'string',
  sound: 'string',
  tag: 'string',
  click_action: 'string',
  body_loc_key: 'string',
  body_loc_args: 'array',
  title_loc_key: 'string',
  title_loc_args: 'array',
  channel_id: 'string',
  ticker: 'string',
  sticky: 'bool',
  event_time: 'string',
  local_only: 'bool',
  notification_priority: 'string',
  default_sound: 'bool',
  default_vibrate_timings: 'bool',
  default_light_settings: 'bool',
  vibrate_timings: 'array',
  visibility: 'string',
  notification_count: 'int',
  light_settings: 'any',
  image: 'string',
  bypass_proxy_notification: 'bool',
  proxy: 'string',
};

/** `collapseKey` → `collapse_key`. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Checks one object's fields; returns it keyed by snake_case names. */
function checkObject(value: unknown, fields: Fields, path: string): RpcError | Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return badRequest(path, `Invalid value at '${path}': expected an object.`);
  }
  const out: Record<string, unknown> = {};
  for (const [rawName, fieldValue] of Object.entries(value)) {
    const name = snake(rawName);
    const type = fields[name];
    if (type === undefined) {
      return badRequest(
        path,
        `Invalid JSON payload received. Unknown name "${rawName}" at '${path}': Cannot find field.`,
      );
    }
    if (Object.hasOwn(out, name))
      return badRequest(`${path}.${name}`, `Invalid JSON payload received. Duplicate field "${rawName}".`);
    if (fieldValue === null) continue;
    const at = `${path}.${name}`;
    const wrong =
      (type === 'string' && typeof fieldValue !== 'string') ||
      (type === 'bool' && typeof fieldValue !== 'boolean') ||
      (type === 'int' &&
        !(Number.isInteger(fieldValue) || (typeof fieldValue === 'string' && /^-?\d+$/.test(fieldValue)))) ||
      (type === 'array' && !Array.isArray(fieldValue)) ||
      (type === 'duration' && (typeof fieldValue !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(fieldValue)));
    if (wrong)
      return badRequest(
        at,
        `Invalid value at '${at}' (${type.toUpperCase()}), ${JSON.stringify(fieldValue)}`,
      );
    if (type === 'map') {
      if (typeof fieldValue !== 'object' || Array.isArray(fieldValue))
        return badRequest(at, `Invalid value at '${at}': expected a map.`);
      let index = 0;
      for (const entry of Object.values(fieldValue as object)) {
        if (typeof entry !== 'string') {
          return badRequest(
            `${at}[${index}].value`,
            `Invalid value at '${at}[${index}].value' (TYPE_STRING), ${JSON.stringify(entry)}`,
          );
        }
        index += 1;
      }
    }
    out[name] = fieldValue;
  }
  return out;
}

function isRpcError(value: unknown): value is RpcError {
  return typeof value === 'object' && value !== null && 'httpStatus' in value && 'body' in value;
}

export interface CheckedMessage {
  readonly message: Record<string, unknown>;
  readonly token: string | undefined;
  readonly topic: string | undefined;
  readonly validateOnly: boolean;
}

const MAX_TTL_S = 2_419_200;

/** The parsed request body, checked as FCM would before it looks at the target's state. */
export function checkSendRequest(body: unknown): RpcError | CheckedMessage {
  const request = checkObject(body, { message: 'object', validate_only: 'bool' }, 'request');
  if (isRpcError(request)) return request;
  if (request['message'] === undefined)
    return badRequest('message', 'Request contains an invalid argument: message is required.');
  const message = checkObject(request['message'], MESSAGE_FIELDS, 'message');
  if (isRpcError(message)) return message;
  const targets = ['token', 'topic', 'condition', 'fid'].filter(
    (t) => typeof message[t] === 'string' && message[t] !== '',
  );
  if (targets.length !== 1) {
    return fcmError(
      400,
      'INVALID_ARGUMENT',
      'Exactly one of token, topic, condition or fid must be set.',
      'message',
    );
  }
  if (message['topic'] !== undefined && !/^[a-zA-Z0-9-_.~%]+$/.test(message['topic'] as string)) {
    return fcmError(400, 'INVALID_ARGUMENT', 'Invalid topic name.', 'message.topic');
  }
  const data = (message['data'] ?? {}) as Record<string, string>;
  for (const key of Object.keys(data)) {
    const lower = key.toLowerCase();
    if (
      lower === 'from' ||
      lower === 'message_type' ||
      lower.startsWith('google') ||
      lower.startsWith('gcm')
    ) {
      return fcmError(400, 'INVALID_ARGUMENT', `Invalid data payload key: ${key}`, 'message.data');
    }
  }
  let size = 0;
  for (const [key, value] of Object.entries(data)) size += Buffer.byteLength(key) + Buffer.byteLength(value);
  if (message['notification'] !== undefined) {
    const notification = checkObject(message['notification'], NOTIFICATION_FIELDS, 'message.notification');
    if (isRpcError(notification)) return notification;
    size +=
      Buffer.byteLength((notification['title'] as string | undefined) ?? '') +
      Buffer.byteLength((notification['body'] as string | undefined) ?? '');
  }
  if (message['android'] !== undefined) {
    const android = checkObject(message['android'], ANDROID_FIELDS, 'message.android');
    if (isRpcError(android)) return android;
    const priority = android['priority'];
    if (priority !== undefined && !['normal', 'high'].includes((priority as string).toLowerCase())) {
      return badRequest(
        'message.android.priority',
        `Invalid value at 'message.android.priority' (TYPE_ENUM), "${String(priority)}"`,
      );
    }
    if (android['ttl'] !== undefined && Number.parseFloat(android['ttl'] as string) > MAX_TTL_S) {
      return fcmError(400, 'INVALID_ARGUMENT', 'TTL must be at most 4 weeks.', 'message.android.ttl');
    }
    if (android['notification'] !== undefined) {
      const an = checkObject(
        android['notification'],
        ANDROID_NOTIFICATION_FIELDS,
        'message.android.notification',
      );
      if (isRpcError(an)) return an;
      if (an['color'] !== undefined && !/^#[0-9a-fA-F]{6}$/.test(an['color'] as string)) {
        return fcmError(400, 'INVALID_ARGUMENT', 'Invalid color.', 'message.android.notification.color');
      }
    }
  }
  const limit = message['topic'] !== undefined || message['condition'] !== undefined ? 2048 : 4096;
  if (size > limit)
    return fcmError(
      400,
      'INVALID_ARGUMENT',
      `Message is too big (${size} bytes, limit ${limit}).`,
      'message',
    );
  return {
    message,
    token: message['token'] as string | undefined,
    topic: message['topic'] as string | undefined,
    validateOnly: request['validate_only'] === true,
  };
}
