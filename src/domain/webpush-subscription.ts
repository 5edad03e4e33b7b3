/**
 * The PushSubscription a browser hands over (W3C Push API, `PushSubscription.toJSON()`): an endpoint
 * URL and two keys. The endpoint is text an untrusted client chose, and our server will POST to it,
 * so it must name a known push service (or a host the app explicitly allows, e.g. a mock): anything
 * else is refused here, before any request is made (a request to a URL a client made up is a
 * server-side request forgery).
 *
 * The on-curve check of `p256dh` needs elliptic-curve arithmetic; it lives in the provider
 * (providers/webpush/p256.ts). This file checks the shape only (65 octets, 0x04 prefix).
 */
import { fail, ok, problem, type Result } from './result.ts';

/** RFC 8291 §3.1: the UA's key is a P-256 point in uncompressed form (X9.62): 0x04 ‖ X ‖ Y. */
export const P256_POINT_LENGTH = 65;
/** RFC 8291 §3.2: the authentication secret is 16 octets. */
export const AUTH_SECRET_LENGTH = 16;
/** Endpoints seen in practice are 150–600 characters; anything near this is not a push service. */
export const MAX_ENDPOINT_LENGTH = 2048;

/**
 * Hosts of the four push services browsers use. `suffix` rules match any sub-domain on a dot
 * boundary (`evil-push.apple.com.attacker.net` does not match `.push.apple.com`).
 * - FCM: Chromium's push_messaging_constants.cc fixes `fcm.googleapis.com`.
 * - Mozilla autopush: `updates.push.services.mozilla.com` (and Mozilla's other push hosts).
 * - Apple: "allow `*.push.apple.com`" (Apple, "Sending web push notifications in web apps and browsers").
 * - Microsoft WNS: "verify the host is under notify.windows.com; the sub-domain changes" (WNS overview).
 */
export const KNOWN_PUSH_SERVICE_HOSTS: readonly { readonly host: string; readonly suffix: boolean }[] = [
  { host: 'fcm.googleapis.com', suffix: false },
  { host: 'updates.push.services.mozilla.com', suffix: false },
  { host: 'push.services.mozilla.com', suffix: true },
  { host: 'push.apple.com', suffix: true },
  { host: 'notify.windows.com', suffix: true },
];

export interface WebPushSubscription {
  /** The endpoint exactly as given (path and query are part of the address: never rewrite them). */
  readonly endpoint: string;
  /** `scheme://host[:port]`: the VAPID `aud` and the connection pool key (RFC 8292 §2). */
  readonly origin: string;
  /** Canonical unpadded base64url of the 65-octet point. */
  readonly p256dh: string;
  /** Canonical unpadded base64url of the 16-octet secret. */
  readonly auth: string;
  /** Milliseconds since the epoch after which the browser says it stops working, or null. */
  readonly expirationTime: number | null;
}

export interface EndpointPolicy {
  /**
   * Extra `host` or `host:port` entries an app allows besides the known push services (a mock push
   * service on 127.0.0.1, a self-hosted service). Only these may use a port other than 443.
   */
  readonly allowedEndpointHosts?: readonly string[];
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes base64url, tolerating what apps relay in practice (padding, the standard alphabet's `+/`),
 * as autopush does for keys; anything else (spaces, other characters, an impossible length) fails.
 * Answers the bytes and their canonical unpadded base64url form.
 */
export function decodeBase64url(text: string): { bytes: Buffer; canonical: string } | undefined {
  const normalised = text.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
  if (!BASE64URL.test(normalised) || normalised.length % 4 === 1) return undefined;
  const bytes = Buffer.from(normalised, 'base64url');
  return { bytes, canonical: bytes.toString('base64url') };
}

function invalid(message: string, reason: string, details?: Record<string, unknown>) {
  return fail(problem('PK_ERR_WEBPUSH_SUBSCRIPTION_INVALID', message, reason, details));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hostMatchesKnown(hostname: string): boolean {
  return KNOWN_PUSH_SERVICE_HOSTS.some((rule) =>
    rule.suffix ? hostname.endsWith(`.${rule.host}`) : hostname === rule.host,
  );
}

/** `host` or `host:port`, lower-cased; `[::1]:4460` keeps its brackets as URL.host does. */
function normaliseAllowedHost(entry: string): string {
  return entry.trim().toLowerCase();
}

/**
 * Checks an endpoint URL: https, no userinfo, no fragment, bounded length, and a host that is a
 * known push service on port 443 or an entry of `policy.allowedEndpointHosts`. Answers its origin.
 */
export function checkWebPushEndpoint(
  endpoint: unknown,
  policy: EndpointPolicy = {},
): Result<{ endpoint: string; origin: string }> {
  if (typeof endpoint !== 'string' || endpoint.length === 0) {
    return invalid('"endpoint" must be the subscription URL (a string).', 'endpoint-missing');
  }
  if (endpoint.length > MAX_ENDPOINT_LENGTH) {
    return invalid(`"endpoint" is longer than ${MAX_ENDPOINT_LENGTH} characters.`, 'endpoint-too-long', {
      length: endpoint.length,
      limit: MAX_ENDPOINT_LENGTH,
    });
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return invalid('"endpoint" is not an absolute URL.', 'endpoint-not-url');
  }
  // RFC 8030 §3: push services are reached over HTTPS only.
  if (url.protocol !== 'https:') return invalid('"endpoint" must be an https:// URL.', 'endpoint-not-https');
  if (url.username !== '' || url.password !== '') {
    return invalid('"endpoint" must not carry a user name or password.', 'endpoint-userinfo');
  }
  if (url.hash !== '' || endpoint.includes('#'))
    return invalid('"endpoint" must not carry a #fragment.', 'endpoint-fragment');
  const allowed = (policy.allowedEndpointHosts ?? []).map(normaliseAllowedHost);
  const hostname = url.hostname.toLowerCase();
  const hostWithPort = url.host.toLowerCase();
  const explicitlyAllowed = allowed.includes(hostWithPort) || (url.port === '' && allowed.includes(hostname));
  const known = url.port === '' && hostMatchesKnown(hostname);
  if (!known && !explicitlyAllowed) {
    return fail(
      problem(
        'PK_ERR_WEBPUSH_ENDPOINT_NOT_ALLOWED',
        `The endpoint host ${hostWithPort} is not a known push service (FCM, Mozilla, Apple, Windows); an app may allow more hosts with allowedEndpointHosts.`,
        'host-not-allowed',
        { host: hostWithPort },
      ),
    );
  }
  return ok({ endpoint, origin: url.origin });
}

/** Shape of a P-256 public key in uncompressed form; the on-curve check is the provider's. */
export function checkP256PointShape(bytes: Uint8Array): Result<void> {
  if (bytes.length !== P256_POINT_LENGTH) {
    return invalid(`"keys.p256dh" must decode to ${P256_POINT_LENGTH} bytes.`, 'p256dh-length', {
      bytes: bytes.length,
      expected: P256_POINT_LENGTH,
    });
  }
  if (bytes[0] !== 0x04) {
    return invalid(
      '"keys.p256dh" must be an uncompressed point (first byte 0x04).',
      'p256dh-not-uncompressed',
    );
  }
  return ok(undefined);
}

/**
 * Parses `{endpoint, expirationTime?, keys: {p256dh, auth}}` (PushSubscription.toJSON()). Unknown
 * members are ignored (the W3C defines none). `now` rejects a subscription already past its
 * expirationTime.
 */
export function parseWebPushSubscription(
  input: unknown,
  policy: EndpointPolicy = {},
  now: number = Date.now(),
): Result<WebPushSubscription> {
  if (!isRecord(input)) return invalid('The subscription must be a JSON object.', 'not-object');
  const endpoint = checkWebPushEndpoint(input['endpoint'], policy);
  if (!endpoint.ok) return endpoint;
  const keys = input['keys'];
  if (!isRecord(keys)) return invalid('"keys" with "p256dh" and "auth" is required.', 'keys-missing');
  const p256dhText = keys['p256dh'];
  const authText = keys['auth'];
  if (typeof p256dhText !== 'string')
    return invalid('"keys.p256dh" is required (base64url).', 'p256dh-missing');
  if (typeof authText !== 'string') return invalid('"keys.auth" is required (base64url).', 'auth-missing');
  const p256dh = decodeBase64url(p256dhText);
  if (p256dh === undefined) return invalid('"keys.p256dh" is not base64url.', 'p256dh-not-base64url');
  const shape = checkP256PointShape(p256dh.bytes);
  if (!shape.ok) return shape;
  const auth = decodeBase64url(authText);
  if (auth === undefined) return invalid('"keys.auth" is not base64url.', 'auth-not-base64url');
  // web-push accepts ≥ 16; RFC 8291 §3.2 says exactly 16, and a longer one is not what a browser made.
  if (auth.bytes.length !== AUTH_SECRET_LENGTH) {
    return invalid(`"keys.auth" must decode to exactly ${AUTH_SECRET_LENGTH} bytes.`, 'auth-length', {
      bytes: auth.bytes.length,
      expected: AUTH_SECRET_LENGTH,
    });
  }
  const expiration = input['expirationTime'];
  let expirationTime: number | null = null;
  if (expiration !== undefined && expiration !== null) {
    if (typeof expiration !== 'number' || !Number.isFinite(expiration) || expiration < 0) {
      return invalid('"expirationTime" must be null or milliseconds since the epoch.', 'expiration-invalid');
    }
    if (expiration <= now)
      return invalid('The subscription has expired (expirationTime is past).', 'expired');
    expirationTime = expiration;
  }
  return ok({
    endpoint: endpoint.value.endpoint,
    origin: endpoint.value.origin,
    p256dh: p256dh.canonical,
    auth: auth.canonical,
    expirationTime,
  });
}

/** An endpoint for logs: its origin and a short tail; the full URL is a bearer credential. */
export function maskEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    const tail = endpoint.slice(-6);
    return `${url.origin}/…${tail}`;
  } catch {
    return '…';
  }
}
