/**
 * The APNs provider token: an ES256 JWT `{alg, kid}.{iss, iat}` signed with the team's .p8 key
 * (Apple, "Establishing a token-based connection to APNs").
 *
 * One source per signing key, shared by every connection and every client that uses the key:
 * - APNs answers 429 TooManyProviderTokenUpdates when a connection sees a new token more often than
 *   every 20 minutes, and 403 ExpiredProviderToken once `iat` is an hour old. So a token is reused
 *   until `refreshAfterMs` (clamped to 20–50 minutes) and never replaced sooner than 20 minutes
 *   by the schedule.
 * - When many streams get ExpiredProviderToken at once, each reports the generation it used;
 *   only the first report for the current generation mints a new token (no stampede).
 * - A clock jump (`iat` in the future, or older than 55 minutes) forces a new token at once.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { PushkeeperError } from '../../../errors.ts';
import { type Clock, systemClock } from '../clock.ts';

export interface SigningKey {
  /** The 10-character Team ID (`iss`). */
  readonly teamId: string;
  /** The 10-character Key ID (`kid`). */
  readonly keyId: string;
  /** The .p8 file's contents: a PKCS#8 PEM holding a P-256 private key. */
  readonly privateKeyPem: string;
}

export interface ProviderToken {
  /** The compact JWT, without `bearer `. */
  readonly jwt: string;
  /** `bearer <jwt>`, ready for the `authorization` header. */
  readonly authorization: string;
  /** `iat`, in seconds. */
  readonly issuedAt: number;
  /** Increases by one with every new token; report it back through `reportExpired`. */
  readonly generation: number;
}

export interface ProviderTokenSourceOptions {
  readonly key: SigningKey;
  readonly clock?: Clock;
  /** Age after which the scheduled refresh mints a new token; clamped to 20–50 minutes. Default 40. */
  readonly refreshAfterMs?: number;
}

const MINUTE = 60_000;
export const MIN_TOKEN_REFRESH_MS = 20 * MINUTE;
export const MAX_TOKEN_REFRESH_MS = 50 * MINUTE;
/** Beyond this age a token is replaced whatever the schedule says (APNs rejects it at 60). */
export const MAX_TOKEN_AGE_MS = 55 * MINUTE;
/** Allowed forward skew before an `iat` counts as "in the future" (our clock went backwards). */
const FUTURE_SKEW_MS = 60_000;
const TEN_CHARS = /^[A-Z0-9]{10}$/;

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function loadKey(key: SigningKey): KeyObject {
  if (!TEN_CHARS.test(key.teamId) || !TEN_CHARS.test(key.keyId)) {
    throw new PushkeeperError('PK_ERR_CREDENTIALS_INVALID', 'Team id and key id are 10 characters A-Z, 0-9.', {
      field: TEN_CHARS.test(key.teamId) ? 'keyId' : 'teamId',
    });
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key.privateKeyPem);
  } catch (cause) {
    throw new PushkeeperError('PK_ERR_CREDENTIALS_INVALID', 'The .p8 key cannot be read as a PEM private key.', {}, { cause });
  }
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new PushkeeperError('PK_ERR_CREDENTIALS_INVALID', 'An APNs signing key is an EC P-256 key (ES256).');
  }
  return keyObject;
}

export class ProviderTokenSource {
  readonly teamId: string;
  readonly keyId: string;
  readonly #key: KeyObject;
  readonly #clock: Clock;
  readonly #refreshAfterMs: number;
  readonly #header: string;
  #current: ProviderToken | undefined;
  #mintedAtMs = 0;
  #generation = 0;
  #minted = 0;

  constructor(options: ProviderTokenSourceOptions) {
    this.#key = loadKey(options.key);
    this.teamId = options.key.teamId;
    this.keyId = options.key.keyId;
    this.#clock = options.clock ?? systemClock;
    const wanted = options.refreshAfterMs ?? 40 * MINUTE;
    this.#refreshAfterMs = Math.min(MAX_TOKEN_REFRESH_MS, Math.max(MIN_TOKEN_REFRESH_MS, wanted));
    this.#header = base64url(JSON.stringify({ alg: 'ES256', kid: this.keyId }));
  }

  /** How many tokens this source has signed so far. */
  get mintedCount(): number {
    return this.#minted;
  }

  /** The token to send now: the cached one unless it is due for replacement. */
  current(): ProviderToken {
    const now = this.#clock.now();
    const token = this.#current;
    if (token === undefined) return this.#mint(now);
    const age = now - this.#mintedAtMs;
    const iatAge = now - token.issuedAt * 1000;
    if (age >= this.#refreshAfterMs || iatAge > MAX_TOKEN_AGE_MS || iatAge < -FUTURE_SKEW_MS) return this.#mint(now);
    return token;
  }

  /**
   * APNs answered 403 ExpiredProviderToken to a request signed with `generation`. The first report
   * for the current generation replaces the token; later reports for the same one are no-ops, so a
   * hundred concurrent rejections produce exactly one new `iat`.
   */
  reportExpired(generation: number): void {
    if (generation === this.#generation) this.#mint(this.#clock.now());
  }

  #mint(now: number): ProviderToken {
    let issuedAt = Math.floor(now / 1000);
    // Two tokens with the same iat would be the same token; a forced refresh within the same second
    // (clock barely moved) still has to produce a different one.
    if (this.#current !== undefined && issuedAt <= this.#current.issuedAt && now - this.#mintedAtMs >= 0) {
      issuedAt = this.#current.issuedAt + 1;
    }
    const claims = base64url(JSON.stringify({ iss: this.teamId, iat: issuedAt }));
    const signingInput = `${this.#header}.${claims}`;
    // JWS ES256 wants the raw 64-byte R||S signature, not DER (RFC 7518 §3.4).
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    const jwt = `${signingInput}.${signature.toString('base64url')}`;
    this.#generation += 1;
    this.#minted += 1;
    this.#mintedAtMs = now;
    this.#current = { jwt, authorization: `bearer ${jwt}`, issuedAt, generation: this.#generation };
    return this.#current;
  }
}
