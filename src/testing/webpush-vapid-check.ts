/**
 * A push service's check of the `Authorization: vapid t=…, k=…` header (RFC 8292 §3, §4.2), as the
 * mock applies it to every request: scheme `vapid` (case-insensitive), `t` and `k` present in any
 * order, `k` strict base64url of an uncompressed P-256 point, the JWT three segments with header
 * `alg: ES256`, a 64-octet raw R‖S signature that verifies with `k` (DER is refused), `aud` exactly
 * the origin the client addressed, `exp` an integer in the future and at most 24 h ahead (+ skew),
 * and `sub` a `mailto:` or `https:` contact without spaces or angle brackets.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

export type VapidFailure =
  | 'missing-authorization'
  | 'bad-scheme'
  | 'missing-t-or-k'
  | 'bad-k'
  | 'malformed-jwt'
  | 'bad-alg'
  | 'bad-signature'
  | 'bad-aud'
  | 'bad-exp'
  | 'expired'
  | 'exp-too-far'
  | 'bad-sub';

export type VapidCheck =
  | {
      readonly ok: true;
      readonly publicKey: string;
      readonly token: string;
      readonly aud: string;
      readonly exp: number;
      readonly sub: string;
    }
  | { readonly ok: false; readonly failure: VapidFailure };

/** RFC 8292 §2: exp no more than 24 hours after the request; a minute of skew is tolerated. */
const MAX_AHEAD_SECONDS = 24 * 3600 + 60;
const STRICT_BASE64URL = /^[A-Za-z0-9_-]+$/;

function failed(failure: VapidFailure): VapidCheck {
  return { ok: false, failure };
}

function pointKey(text: string): KeyObject | undefined {
  if (!STRICT_BASE64URL.test(text)) return undefined;
  const point = Buffer.from(text, 'base64url');
  if (point.length !== 65 || point[0] !== 0x04) return undefined;
  try {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    return undefined;
  }
}

function parseParams(rest: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of rest.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return params;
}

function jsonSegment(segment: string): Record<string, unknown> | undefined {
  if (!STRICT_BASE64URL.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Checks one request's Authorization header against the origin it was sent to, at `nowSeconds`. */
export function checkVapidAuthorization(
  header: string | undefined,
  origin: string,
  nowSeconds: number,
): VapidCheck {
  if (header === undefined || header.trim() === '') return failed('missing-authorization');
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'vapid') return failed('bad-scheme');
  const params = parseParams(header.slice(space + 1));
  const token = params.get('t');
  const k = params.get('k');
  if (token === undefined || k === undefined) return failed('missing-t-or-k');
  const key = pointKey(k);
  if (key === undefined) return failed('bad-k');
  const segments = token.split('.');
  if (segments.length !== 3) return failed('malformed-jwt');
  const [headerSegment, claimsSegment, signatureSegment] = segments as [string, string, string];
  const jwtHeader = jsonSegment(headerSegment);
  const claims = jsonSegment(claimsSegment);
  if (jwtHeader === undefined || claims === undefined || !STRICT_BASE64URL.test(signatureSegment))
    return failed('malformed-jwt');
  if (jwtHeader['alg'] !== 'ES256' || (jwtHeader['typ'] !== undefined && jwtHeader['typ'] !== 'JWT'))
    return failed('bad-alg');
  const signature = Buffer.from(signatureSegment, 'base64url');
  if (signature.length !== 64) return failed('bad-signature');
  const signed = verify(
    'sha256',
    Buffer.from(`${headerSegment}.${claimsSegment}`),
    { key, dsaEncoding: 'ieee-p1363' },
    signature,
  );
  if (!signed) return failed('bad-signature');
  if (claims['aud'] !== origin) return failed('bad-aud');
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isInteger(exp)) return failed('bad-exp');
  if (exp <= nowSeconds) return failed('expired');
  if (exp > nowSeconds + MAX_AHEAD_SECONDS) return failed('exp-too-far');
  const sub = claims['sub'];
  if (
    typeof sub !== 'string' ||
    /[\s<>]/.test(sub) ||
    !(sub.startsWith('mailto:') || sub.startsWith('https:'))
  ) {
    return failed('bad-sub');
  }
  return { ok: true, publicKey: k, token, aud: origin, exp, sub };
}
