/**
 * Server-side checks of an APNs provider token (JWT), as APNs applies them
 * ("Establishing a token-based connection to APNs"): `alg` must be ES256, `kid` a registered key, `iss` that
 * key's team, the signature valid in either raw R||S or DER form, and `iat` an integer no older
 * than one hour and not in the future.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

export interface RegisteredSigningKey {
  readonly teamId: string;
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** Bundle ids (or full topics) this key may push to; undefined = any topic of the team. */
  readonly topics: readonly string[] | undefined;
  /** Environments this key is scoped to; undefined = both (Apple's pre-2025 keys). */
  readonly environments: readonly ('production' | 'sandbox')[] | undefined;
}

export interface VerifiedProviderToken {
  readonly key: RegisteredSigningKey;
  /** Seconds since the epoch. */
  readonly iat: number;
}

export type ProviderTokenCheck =
  | { readonly ok: true; readonly token: VerifiedProviderToken }
  | {
      readonly ok: false;
      readonly reason: 'InvalidProviderToken' | 'ExpiredProviderToken';
      readonly why: string;
    };

export const TOKEN_MAX_AGE_SECONDS = 3600;
/** Clock skew tolerated for `iat` in the future; Apple documents none, a minute is kind. */
export const TOKEN_FUTURE_SKEW_SECONDS = 60;

export function toRegisteredKey(input: {
  teamId: string;
  keyId: string;
  publicKeyPem: string;
  topics?: readonly string[] | undefined;
  environments?: readonly ('production' | 'sandbox')[] | undefined;
}): RegisteredSigningKey {
  return {
    teamId: input.teamId,
    keyId: input.keyId,
    publicKey: createPublicKey(input.publicKeyPem),
    topics: input.topics,
    environments: input.environments,
  };
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const invalid = (why: string): ProviderTokenCheck => ({ ok: false, reason: 'InvalidProviderToken', why });

/**
 * Verifies a token. Signature results are cached by the caller-supplied map (token → key) so a
 * connection reusing its token costs one map lookup, as with a real provider reusing a token.
 */
export function checkProviderToken(
  jwt: string,
  keys: ReadonlyMap<string, RegisteredSigningKey>,
  nowMs: number,
  verifiedCache: Map<string, VerifiedProviderToken>,
): ProviderTokenCheck {
  let token = verifiedCache.get(jwt);
  if (token === undefined || keys.get(token.key.keyId) !== token.key) {
    const parts = jwt.split('.');
    if (parts.length !== 3) return invalid('not three segments');
    const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
    const header = decodeJson(headerPart);
    const claims = decodeJson(claimsPart);
    if (header === undefined || claims === undefined) return invalid('segments are not JSON objects');
    if (header['alg'] !== 'ES256') return invalid('alg is not ES256');
    const kid = header['kid'];
    if (typeof kid !== 'string') return invalid('kid missing');
    const key = keys.get(kid);
    if (key === undefined) return invalid('unknown kid');
    if (claims['iss'] !== key.teamId) return invalid("iss is not the key's team");
    const iat = claims['iat'];
    if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) return invalid('iat is not integer seconds');
    const signature = Buffer.from(signaturePart, 'base64url');
    // JWS mandates the 64-byte R||S form; APNs also takes ASN.1 DER (pushy and Apple's own example).
    const dsaEncoding = signature.length === 64 ? 'ieee-p1363' : 'der';
    let valid = false;
    try {
      valid = verify(
        'sha256',
        Buffer.from(`${headerPart}.${claimsPart}`),
        { key: key.publicKey, dsaEncoding },
        signature,
      );
    } catch {
      valid = false;
    }
    if (!valid) return invalid('bad signature');
    token = { key, iat };
    if (verifiedCache.size > 10_000) verifiedCache.clear();
    verifiedCache.set(jwt, token);
  }
  const nowSeconds = Math.floor(nowMs / 1000);
  if (token.iat > nowSeconds + TOKEN_FUTURE_SKEW_SECONDS) return invalid('iat in the future');
  if (nowSeconds - token.iat > TOKEN_MAX_AGE_SECONDS) {
    return { ok: false, reason: 'ExpiredProviderToken', why: 'iat older than one hour' };
  }
  return { ok: true, token };
}
