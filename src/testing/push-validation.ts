/**
 * The mock's verdict on one device push, in a fixed order (Apple does not document one; this is
 * ours, chosen so that an unauthenticated client learns nothing about device state — the gap in
 * pushy's MockApnsServer, which checks device tokens before authentication):
 *
 *   1. method              405 MethodNotAllowed
 *   2. path                404 BadPath, 400 MissingDeviceToken, 400 BadDeviceToken (not hex / length)
 *   3. authentication      token: 403 MissingProviderToken / InvalidProviderToken /
 *                          ExpiredProviderToken / BadEnvironmentKeyIdInToken / UnrelatedKeyIdInToken,
 *                          429 TooManyProviderTokenUpdates;
 *                          certificate: 403 BadCertificate
 *   4. headers             DuplicateHeaders, BadMessageId, InvalidPushType, BadPriority,
 *                          BadExpirationDate, BadCollapseId, MissingTopic, BadTopic, TopicDisallowed
 *   5. payload             PayloadEmpty (also for a body that is not a JSON object), 413 PayloadTooLarge
 *   6. device state        BadDeviceToken, DeviceTokenNotForTopic, 410 Unregistered/ExpiredToken + timestamp
 */
import {
  type Environment,
  isCanonicalUuid,
  isPushType,
  MAX_COLLAPSE_ID_BYTES,
  PUSH_TYPE_RULES,
  type PushType,
  splitTopic,
} from '../domain/index.ts';
import type { ProviderCertificate } from './client-certificate.ts';
import type { DeviceRegistry } from './device-registry.ts';
import { isPlausibleToken } from './device-registry.ts';
import {
  checkProviderToken,
  type RegisteredSigningKey,
  type VerifiedProviderToken,
} from './provider-token.ts';

/** Apple: refresh "no more than once every 20 minutes" on a connection ("Establishing a token-based connection to APNs"). */
export const TOKEN_UPDATE_INTERVAL_MS = 20 * 60 * 1000;

/** What a connection remembers between requests (Apple binds the team on the first push). */
export interface ConnectionAuthState {
  /** A trusted client certificate with a UID: the connection is in certificate mode. */
  readonly certificate: ProviderCertificate | undefined;
  /** A certificate was presented but is not trusted or has no UID. */
  readonly certificateRejected: boolean;
  boundTeamId: string | undefined;
  /** The key of the first authenticated push (Apple binds the key family). */
  boundKeyId: string | undefined;
  currentToken: string | undefined;
  currentTokenSinceMs: number;
  authenticated: boolean;
}

export interface ValidationContext {
  readonly environment: Environment;
  readonly keys: ReadonlyMap<string, RegisteredSigningKey>;
  readonly devices: DeviceRegistry;
  readonly nowMs: number;
  readonly verifiedTokens: Map<string, VerifiedProviderToken>;
  readonly onTokenIat: (iat: number) => void;
}

export interface PushRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Flat [name, value, name, value…] as received, for duplicate detection. */
  readonly rawHeaders: readonly string[];
  readonly payload: Buffer;
}

export interface AcceptedPush {
  readonly status: 200;
  readonly token: string;
  readonly topic: string;
  readonly pushType: PushType;
  readonly priority: number;
  readonly expiration?: number;
  readonly collapseId?: string;
  /** Auth passed on this request. */
  readonly authenticated: true;
}

export interface RejectedPush {
  readonly status: number;
  readonly reason: string;
  readonly token: string;
  readonly timestamp?: number;
  readonly authenticated: boolean;
}

export type PushVerdict = AcceptedPush | RejectedPush;

export const DEVICE_PATH_PREFIX = '/3/device/';

/** Headers whose repetition APNs rejects; pseudo-headers are checked by HTTP/2 itself. */
const APNS_HEADERS = new Set([
  'authorization',
  'apns-id',
  'apns-push-type',
  'apns-expiration',
  'apns-priority',
  'apns-topic',
  'apns-collapse-id',
  'apns-channel-id',
]);

/**
 * Topics a single-topic certificate may push to: Apple, "one certificate covers one app: its
 * alerts, its Watch complication and its VoIP pushes" ("Establishing a certificate-based connection to APNs";
 * pushy's mock allows the same three).
 */
function singleTopicCertificateTopics(bundleId: string): string[] {
  return [bundleId, `${bundleId}.voip`, `${bundleId}.complication`];
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The bundle id a topic belongs to, for matching device registrations and key topics. */
export function bundleIdOfTopic(topic: string, pushType: PushType): string {
  if (pushType === 'mdm') return topic;
  const suffix = PUSH_TYPE_RULES[pushType].topicSuffix;
  return topic.endsWith(suffix) ? topic.slice(0, topic.length - suffix.length) : topic;
}

function duplicateHeader(rawHeaders: readonly string[]): boolean {
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!APNS_HEADERS.has(name)) continue;
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}

function reject(status: number, reason: string, token: string, authenticated: boolean): RejectedPush {
  return { status, reason, token, authenticated };
}

type AuthOutcome = { ok: true } | { ok: false; status: number; reason: string };

function checkTokenAuth(
  request: PushRequest,
  conn: ConnectionAuthState,
  ctx: ValidationContext,
): AuthOutcome {
  const authorization = single(request.headers['authorization']);
  const match = authorization === undefined ? null : /^bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) return { ok: false, status: 403, reason: 'MissingProviderToken' };
  const jwt = match[1]!;
  const checked = checkProviderToken(jwt, ctx.keys, ctx.nowMs, ctx.verifiedTokens);
  if (!checked.ok) return { ok: false, status: 403, reason: checked.reason };
  const { key, iat } = checked.token;
  ctx.onTokenIat(iat);
  if (key.environments !== undefined && !key.environments.includes(ctx.environment)) {
    return { ok: false, status: 403, reason: 'BadEnvironmentKeyIdInToken' };
  }
  // Apple: one connection cannot serve multiple teams; the first push binds the team ("Establishing a
  // token-based connection to APNs").
  if (conn.boundTeamId !== undefined && conn.boundTeamId !== key.teamId) {
    return { ok: false, status: 403, reason: 'InvalidProviderToken' };
  }
  // Apple (2025 key types): after a first push with a topic-specific key, another key — and after
  // a team-scoped key, a topic-specific one — is UnrelatedKeyIdInToken. A key with `topics` is
  // topic-specific here; two team-scoped keys of one team may share a connection.
  const boundKey = conn.boundKeyId === undefined ? undefined : ctx.keys.get(conn.boundKeyId);
  if (
    boundKey !== undefined &&
    boundKey !== key &&
    (boundKey.topics !== undefined || key.topics !== undefined)
  ) {
    return { ok: false, status: 403, reason: 'UnrelatedKeyIdInToken' };
  }
  if (conn.currentToken !== jwt) {
    if (conn.currentToken !== undefined && ctx.nowMs - conn.currentTokenSinceMs < TOKEN_UPDATE_INTERVAL_MS) {
      return { ok: false, status: 429, reason: 'TooManyProviderTokenUpdates' };
    }
    conn.currentToken = jwt;
    conn.currentTokenSinceMs = ctx.nowMs;
  }
  conn.boundTeamId = key.teamId;
  conn.boundKeyId ??= key.keyId;
  const topic = single(request.headers['apns-topic']);
  if (topic !== undefined && key.topics !== undefined) {
    const { bundleId } = splitTopic(topic);
    if (!key.topics.includes(topic) && !key.topics.includes(bundleId)) {
      return { ok: false, status: 403, reason: 'InvalidProviderToken' };
    }
  }
  return { ok: true };
}

export function validatePush(
  request: PushRequest,
  conn: ConnectionAuthState,
  ctx: ValidationContext,
): PushVerdict {
  // 1. method
  if (request.method !== 'POST') return reject(405, 'MethodNotAllowed', '', false);

  // 2. path
  const path = request.path;
  if (path === DEVICE_PATH_PREFIX || path === '/3/device')
    return reject(400, 'MissingDeviceToken', '', false);
  if (!path.startsWith(DEVICE_PATH_PREFIX)) return reject(404, 'BadPath', '', false);
  const rawToken = path.slice(DEVICE_PATH_PREFIX.length);
  if (rawToken.includes('/') || rawToken.includes('?')) return reject(404, 'BadPath', '', false);
  const token = rawToken.toLowerCase();
  if (!isPlausibleToken(token)) return reject(400, 'BadDeviceToken', token, false);

  // 3. authentication
  if (conn.certificate === undefined) {
    if (conn.certificateRejected) return reject(403, 'BadCertificate', token, false);
    const auth = checkTokenAuth(request, conn, ctx);
    if (!auth.ok) return reject(auth.status, auth.reason, token, false);
  }
  conn.authenticated = true;
  const fail = (status: number, reason: string) => reject(status, reason, token, true);

  // 4. headers
  const headers = request.headers;
  if (duplicateHeader(request.rawHeaders)) return fail(400, 'DuplicateHeaders');
  const apnsId = single(headers['apns-id']);
  if (apnsId !== undefined && !isCanonicalUuid(apnsId)) return fail(400, 'BadMessageId');
  const pushTypeHeader = single(headers['apns-push-type']);
  if (pushTypeHeader !== undefined && !isPushType(pushTypeHeader)) return fail(400, 'InvalidPushType');
  const priorityHeader = single(headers['apns-priority']);
  if (priorityHeader !== undefined && !/^(1|5|10)$/.test(priorityHeader)) return fail(400, 'BadPriority');
  const expirationHeader = single(headers['apns-expiration']);
  let expiration: number | undefined;
  if (expirationHeader !== undefined) {
    // Apple: "a UNIX epoch date expressed in seconds (UTC)", or 0.
    if (!/^\d{1,10}$/.test(expirationHeader) || Number(expirationHeader) > 0xffffffff) {
      return fail(400, 'BadExpirationDate');
    }
    expiration = Number(expirationHeader);
  }
  // Node hands header values over as latin1, one character per wire byte: the length is the
  // byte count Apple limits ("must not exceed 64 bytes"), and the text is the bytes read as UTF-8.
  const collapseIdBytes = single(headers['apns-collapse-id']);
  if (collapseIdBytes !== undefined && collapseIdBytes.length > MAX_COLLAPSE_ID_BYTES) {
    return fail(400, 'BadCollapseId');
  }
  const collapseId =
    collapseIdBytes === undefined ? undefined : Buffer.from(collapseIdBytes, 'latin1').toString('utf8');
  let topic = single(headers['apns-topic']);
  if (topic === undefined || topic === '') {
    // Apple: a single-topic certificate's topic is the default; token auth and multi-topic
    // certificates must send apns-topic.
    if (conn.certificate === undefined || conn.certificate.topics !== undefined)
      return fail(400, 'MissingTopic');
    topic = conn.certificate.bundleId;
  }
  // Without apns-push-type we infer the type from the topic suffix (alert for a bare bundle id),
  // as APNs delivered pre-iOS 13 pushes without the header.
  const pushType: PushType = pushTypeHeader ?? splitTopic(topic).suffixTypes[0] ?? 'alert';
  const rule = PUSH_TYPE_RULES[pushType];
  if (pushType !== 'mdm') {
    const suffixOk = topic.endsWith(rule.topicSuffix) && topic.length > rule.topicSuffix.length;
    if (!suffixOk || !splitTopic(topic).suffixTypes.includes(pushType)) return fail(400, 'BadTopic');
  }
  // Omitted priority: the type's default (Apple's blanket default of 10 would make every
  // background push without the header an error, which APNs does not do in practice).
  const priority = priorityHeader === undefined ? rule.defaultPriority : Number(priorityHeader);
  if (!(rule.priorities as readonly number[]).includes(priority)) return fail(400, 'BadPriority');
  if (conn.certificate !== undefined) {
    const cert = conn.certificate;
    if (bundleIdOfTopic(topic, pushType) !== cert.bundleId && !(cert.topics ?? []).includes(topic)) {
      return fail(400, 'BadTopic');
    }
    // location, liveactivity, widgets and controls are token-only (src/domain/push-type.ts).
    if (!rule.certificateAuth) return fail(400, 'TopicDisallowed');
    const allowed = cert.topics ?? singleTopicCertificateTopics(cert.bundleId);
    if (pushType !== 'mdm' && !allowed.includes(topic)) return fail(400, 'TopicDisallowed');
  }

  // 5. payload
  const payload = request.payload;
  if (payload.length === 0) return fail(400, 'PayloadEmpty');
  if (payload.length > rule.maxPayloadBytes) return fail(413, 'PayloadTooLarge');
  if (!isJsonObject(payload)) return fail(400, 'PayloadEmpty');

  // 6. device state
  const device = ctx.devices.check(token, bundleIdOfTopic(topic, pushType), ctx.environment);
  if (!device.ok) {
    if (device.status === 410) return { ...fail(410, device.reason), timestamp: device.timestamp };
    return fail(device.status, device.reason);
  }
  return {
    status: 200,
    token,
    topic,
    pushType,
    priority,
    ...(expiration === undefined ? {} : { expiration }),
    ...(collapseId === undefined ? {} : { collapseId }),
    authenticated: true,
  };
}

/**
 * Apple documents no reason for a body that is not JSON; we answer 400 PayloadEmpty (the payload
 * carries no usable dictionary), a reason every client already knows as permanent.
 */
function isJsonObject(payload: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
