/**
 * The backend's proof that a user may be bound to a device: an `aliasToken`, a JSON Web Token
 * (RFC 7519) in JWS compact form (RFC 7515 §7.1) signed with HMAC-SHA256 (`HS256`, RFC 7518 §3.2)
 * under the app's identity secret. The app's backend mints one after it authenticated the user;
 * the app sends it with its publishable key, which is public and so proves nothing by itself.
 *
 * What is checked, in this order, so a forged token learns nothing about the claims:
 * 1. three base64url parts (RFC 7515 §2: no padding, URL-safe alphabet only);
 * 2. the header's `alg` is exactly `HS256` (RFC 8725 §3.1: never trust the token's own choice, and
 *    refuse `none`); a `crit` header is refused, since we understand no extension (RFC 7515 §4.1.11);
 * 3. the signature, compared in constant time (RFC 8725 §3.2 asks for it; a byte-by-byte compare
 *    lets a forger learn the MAC one byte at a time);
 * 4. the claims: `sub` (the alias, RFC 7519 §4.1.2) must be the alias being bound, `exp`
 *    (§4.1.4) must be a NumericDate in the future and at most 24 h ahead, `nbf` (§4.1.5) and `iat`
 *    (§4.1.6), when present, must not be in the future. Clocks may disagree by 60 s either way.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { fail, ok, problem, type Result } from './result.ts';

/** A token may live at most this long: a leaked one is worth a day, never more. */
export const ALIAS_TOKEN_MAX_LIFETIME_SECONDS = 24 * 60 * 60;
/** How far our clock and the backend's may disagree (RFC 7519 §4.1.4 allows "some small leeway"). */
export const ALIAS_TOKEN_CLOCK_SKEW_SECONDS = 60;
/** Far longer than any real token (header + a 256-character alias + signature is under 600). */
export const ALIAS_TOKEN_MAX_LENGTH = 4096;

export interface VerifiedAliasToken {
  readonly alias: string;
  /** The `exp` claim, epoch seconds. */
  readonly expiresAt: number;
}

export type AliasTokenRejection =
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'expired'
  | 'not-yet-valid'
  | 'lifetime-too-long'
  | 'subject-mismatch';

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function reject(reason: AliasTokenRejection, message: string): Result<never> {
  return fail(problem('PK_ERR_ALIAS_TOKEN_INVALID', message, reason));
}

function decodeJsonPart(part: string): Record<string, unknown> | null {
  if (part.length === 0 || !BASE64URL.test(part)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const isNumericDate = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/**
 * Verifies `token` for binding `alias` (or, with `alias` null, for whatever alias its `sub` names)
 * under `secret` (the identity secret's text; HMAC keys are its UTF-8 bytes, as JWT libraries use
 * a string secret). `nowSeconds` is the verifier's clock, epoch seconds.
 */
export function verifyAliasToken(
  token: unknown,
  secret: string,
  alias: string | null,
  nowSeconds: number,
): Result<VerifiedAliasToken> {
  if (typeof token !== 'string' || token.length === 0 || token.length > ALIAS_TOKEN_MAX_LENGTH) {
    return reject('malformed', 'The aliasToken must be a JWT (header.payload.signature).');
  }
  const parts = token.split('.');
  if (parts.length !== 3) return reject('malformed', 'The aliasToken must have three dot-separated parts.');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJsonPart(headerPart);
  if (header === null) return reject('malformed', 'The aliasToken header is not base64url JSON.');
  if (header['alg'] !== 'HS256') {
    return reject('algorithm', 'The aliasToken must be signed with HS256.');
  }
  if (header['crit'] !== undefined) {
    return reject('malformed', 'The aliasToken header has critical extensions we do not support.');
  }
  if (!BASE64URL.test(signaturePart) || !BASE64URL.test(payloadPart)) {
    return reject('malformed', 'The aliasToken is not base64url.');
  }
  const given = Buffer.from(signaturePart, 'base64url');
  const expected = createHmac('sha256', secret).update(`${headerPart}.${payloadPart}`).digest();
  // timingSafeEqual needs equal lengths; the length of a MAC is public, only its bytes are not.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return reject('signature', "The aliasToken's signature does not match the app's identity secret.");
  }

  const claims = decodeJsonPart(payloadPart);
  if (claims === null) return reject('malformed', 'The aliasToken payload is not base64url JSON.');
  const sub = claims['sub'];
  const exp = claims['exp'];
  if (typeof sub !== 'string' || sub.length === 0) {
    return reject('malformed', 'The aliasToken needs a `sub` claim: the alias.');
  }
  if (!isNumericDate(exp)) return reject('malformed', 'The aliasToken needs an `exp` claim (epoch seconds).');
  if (alias !== null && sub !== alias) {
    return reject('subject-mismatch', "The aliasToken's `sub` is not the alias being bound.");
  }
  const skew = ALIAS_TOKEN_CLOCK_SKEW_SECONDS;
  if (exp <= nowSeconds - skew) return reject('expired', 'The aliasToken has expired; mint a new one.');
  if (exp > nowSeconds + ALIAS_TOKEN_MAX_LIFETIME_SECONDS + skew) {
    return reject('lifetime-too-long', 'An aliasToken may expire at most 24 hours after it is minted.');
  }
  for (const claim of ['nbf', 'iat'] as const) {
    const value = claims[claim];
    if (value === undefined) continue;
    if (!isNumericDate(value))
      return reject('malformed', `The aliasToken's \`${claim}\` must be epoch seconds.`);
    if (value > nowSeconds + skew)
      return reject('not-yet-valid', `The aliasToken's \`${claim}\` is in the future.`);
  }
  // A token minted to last a week is refused even on its last day: the limit is on what was minted.
  const iat = claims['iat'];
  if (isNumericDate(iat) && exp - iat > ALIAS_TOKEN_MAX_LIFETIME_SECONDS + skew) {
    return reject('lifetime-too-long', 'An aliasToken may expire at most 24 hours after it is minted.');
  }
  return ok({ alias: sub, expiresAt: exp });
}
