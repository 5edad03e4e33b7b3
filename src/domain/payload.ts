/**
 * The APNs JSON payload. Size is counted on the exact bytes that go on the wire: serialise once,
 * measure the Buffer, send the same Buffer (Apple: 4096 bytes, 5120 for VoIP; "Sending notification requests to APNs").
 */
import { PUSH_TYPE_RULES, type PushType } from './push-type.ts';
import { fail, ok, problem, type Result } from './result.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type Payload = { readonly [key: string]: JsonValue };

export interface SerialisedPayload {
  readonly bytes: Buffer;
  readonly byteLength: number;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Structural rules Apple documents for `aps` ("Generating a remote notification"), checked per push
 * type. We reject what APNs would reject or silently drop; we do not second-guess custom keys.
 */
function checkAps(payload: Record<string, unknown>, type: PushType): Result<void> {
  const aps = payload['aps'];
  if (aps === undefined) {
    if (type === 'alert' || type === 'background' || type === 'liveactivity') {
      return fail(problem('PK_ERR_PAYLOAD_INVALID', `A ${type} payload needs an "aps" dictionary.`, 'missing-aps'));
    }
    return ok(undefined);
  }
  if (!isPlainObject(aps)) {
    return fail(problem('PK_ERR_PAYLOAD_INVALID', '"aps" must be a JSON object.', 'aps-not-object'));
  }
  if (type === 'background') {
    // Apple: a background update has content-available 1 and no alert, sound or badge.
    if (aps['content-available'] !== 1) {
      return fail(
        problem('PK_ERR_PAYLOAD_INVALID', 'A background push needs "aps": {"content-available": 1}.', 'background-needs-content-available'),
      );
    }
    for (const key of ['alert', 'sound', 'badge'] as const) {
      if (key in aps) {
        return fail(
          problem('PK_ERR_PAYLOAD_INVALID', `A background push must not carry aps.${key}.`, 'background-with-alert', {
            key,
          }),
        );
      }
    }
  }
  if ('content-available' in aps && aps['content-available'] !== 1) {
    return fail(problem('PK_ERR_PAYLOAD_INVALID', 'aps.content-available must be 1 when present.', 'content-available-not-1'));
  }
  if ('mutable-content' in aps && aps['mutable-content'] !== 1) {
    return fail(problem('PK_ERR_PAYLOAD_INVALID', 'aps.mutable-content must be 1 when present.', 'mutable-content-not-1'));
  }
  if ('badge' in aps && !(typeof aps['badge'] === 'number' && Number.isInteger(aps['badge']) && aps['badge'] >= 0)) {
    return fail(problem('PK_ERR_PAYLOAD_INVALID', 'aps.badge must be a whole number ≥ 0.', 'badge-not-number'));
  }
  if ('alert' in aps && typeof aps['alert'] !== 'string' && !isPlainObject(aps['alert'])) {
    return fail(problem('PK_ERR_PAYLOAD_INVALID', 'aps.alert must be a string or an object.', 'alert-shape'));
  }
  if (type === 'liveactivity') {
    const event = aps['event'];
    if (event !== 'start' && event !== 'update' && event !== 'end') {
      return fail(
        problem('PK_ERR_PAYLOAD_INVALID', 'A live activity push needs aps.event start, update or end.', 'liveactivity-event'),
      );
    }
    if (typeof aps['timestamp'] !== 'number') {
      return fail(problem('PK_ERR_PAYLOAD_INVALID', 'A live activity push needs aps.timestamp.', 'liveactivity-timestamp'));
    }
  }
  return ok(undefined);
}

/** Serialises once and checks the byte count against the push type's limit. */
export function serialisePayload(payload: unknown, type: PushType): Result<SerialisedPayload> {
  if (!isPlainObject(payload)) {
    return fail(problem('PK_ERR_PAYLOAD_INVALID', 'The payload must be a JSON object.', 'not-object'));
  }
  const aps = checkAps(payload, type);
  if (!aps.ok) return aps;
  let text: string;
  try {
    text = JSON.stringify(payload);
  } catch {
    return fail(problem('PK_ERR_PAYLOAD_INVALID', 'The payload cannot be serialised as JSON.', 'not-json'));
  }
  return checkPayloadBytes(Buffer.from(text, 'utf8'), type);
}

/** The limit check alone, for bytes that were serialised elsewhere. */
export function checkPayloadBytes(bytes: Buffer, type: PushType): Result<SerialisedPayload> {
  const limit = PUSH_TYPE_RULES[type].maxPayloadBytes;
  if (bytes.byteLength === 0) {
    return fail(problem('PK_ERR_PAYLOAD_INVALID', 'The payload is empty.', 'empty'));
  }
  if (bytes.byteLength > limit) {
    return fail(
      problem('PK_ERR_PAYLOAD_TOO_LARGE', `The payload is ${bytes.byteLength} bytes; ${type} allows ${limit}.`, 'too-large', {
        bytes: bytes.byteLength,
        limit,
      }),
    );
  }
  return ok({ bytes, byteLength: bytes.byteLength });
}
