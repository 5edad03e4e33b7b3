/**
 * The mock's OAuth 2.0 token endpoint for the JWT bearer grant (RFC 7523; Google, "Using OAuth 2.0
 * for Server to Server Applications"), written independently of the client it judges. It checks
 * what Google checks: grant type, a three-part JWS with alg RS256 verified against the service
 * account's public key, a known `iss`, matching `kid`, `aud` = the token URI, integer iat/exp with
 * exp - iat ≤ 3600 and within clock skew, a non-empty scope, no `sub`. Errors use Google's bodies.
 */
import { createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto';

export interface MockServiceAccountKey {
  readonly clientEmail: string;
  readonly publicKeyPem: string;
  /** `private_key_id` of the key file; checked against the JWT's `kid` when both exist. */
  readonly privateKeyId?: string;
  /** Project the account belongs to: its tokens may send for this project only. */
  readonly projectId: string;
}

export interface IssuedToken {
  readonly clientEmail: string;
  readonly projectId: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

export type TokenAnswer =
  | { readonly ok: true; readonly body: { access_token: string; expires_in: number; token_type: 'Bearer' } }
  | {
      readonly ok: false;
      readonly status: number;
      readonly body: { error: string; error_description: string };
    };

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const MAX_SKEW_S = 300;

function refuse(status: number, error: string, description: string): TokenAnswer {
  return { ok: false, status, body: { error, error_description: description } };
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export class MockTokenAuthority {
  readonly #accounts = new Map<string, MockServiceAccountKey & { key: KeyObject }>();
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #audiences: readonly string[];
  readonly #now: () => number;
  #lifetimeS: number;
  issued = 0;
  requests = 0;

  constructor(options: { audiences: readonly string[]; now: () => number; lifetimeS: number }) {
    this.#audiences = options.audiences;
    this.#now = options.now;
    this.#lifetimeS = options.lifetimeS;
  }

  addAccount(account: MockServiceAccountKey): void {
    this.#accounts.set(account.clientEmail, { ...account, key: createPublicKey(account.publicKeyPem) });
  }

  setTokenLifetime(seconds: number): void {
    this.#lifetimeS = seconds;
  }

  /** Every issued token stops working (as after a key revocation). */
  revokeAll(): void {
    this.#tokens.clear();
  }

  /** The bearer token's grant, or why it is refused. */
  check(bearer: string): IssuedToken | 'unknown' | 'expired' {
    const token = this.#tokens.get(bearer);
    if (token === undefined) return 'unknown';
    if (this.#now() >= token.expiresAt) return 'expired';
    return token;
  }

  exchange(form: URLSearchParams): TokenAnswer {
    this.requests += 1;
    if (form.get('grant_type') !== GRANT_TYPE)
      return refuse(400, 'unsupported_grant_type', 'Invalid grant_type: ' + (form.get('grant_type') ?? ''));
    const assertion = form.get('assertion');
    if (assertion === null || assertion === '')
      return refuse(400, 'invalid_request', 'Missing required parameter: assertion');
    const parts = assertion.split('.');
    if (parts.length !== 3) return refuse(400, 'invalid_grant', 'Invalid JWT: not a three-part JWS.');
    const header = decodeSegment(parts[0]!);
    const claims = decodeSegment(parts[1]!);
    if (header === undefined || claims === undefined)
      return refuse(400, 'invalid_grant', 'Invalid JWT: undecodable header or claims.');
    if (header['alg'] !== 'RS256') return refuse(400, 'invalid_grant', 'Invalid JWT: alg must be RS256.');
    const iss = claims['iss'];
    const account = typeof iss === 'string' ? this.#accounts.get(iss) : undefined;
    if (account === undefined) return refuse(400, 'invalid_grant', 'Invalid grant: account not found');
    if (
      header['kid'] !== undefined &&
      account.privateKeyId !== undefined &&
      header['kid'] !== account.privateKeyId
    ) {
      return refuse(400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify('sha256', signed, account.key, Buffer.from(parts[2]!, 'base64url'))) {
      return refuse(400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    if (typeof claims['aud'] !== 'string' || !this.#audiences.includes(claims['aud'])) {
      return refuse(
        400,
        'invalid_grant',
        `Invalid JWT: Failed audience check. The right audience is ${this.#audiences[0]}`,
      );
    }
    const { iat, exp } = claims;
    const now = Math.floor(this.#now() / 1000);
    if (
      !Number.isInteger(iat) ||
      !Number.isInteger(exp) ||
      (exp as number) - (iat as number) > 3600 ||
      (exp as number) <= (iat as number) ||
      (iat as number) > now + MAX_SKEW_S ||
      (exp as number) < now - MAX_SKEW_S
    ) {
      return refuse(
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    if (claims['sub'] !== undefined)
      return refuse(
        401,
        'unauthorized_client',
        'Client is unauthorized to retrieve access tokens using this method.',
      );
    const scope = claims['scope'];
    if (typeof scope !== 'string' || scope.trim() === '')
      return refuse(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const accessToken = `ya29.mock-${randomBytes(24).toString('base64url')}`;
    this.#tokens.set(accessToken, {
      clientEmail: account.clientEmail,
      projectId: account.projectId,
      scopes: scope.trim().split(/\s+/),
      expiresAt: this.#now() + this.#lifetimeS * 1000,
    });
    this.issued += 1;
    return {
      ok: true,
      body: { access_token: accessToken, expires_in: this.#lifetimeS, token_type: 'Bearer' },
    };
  }
}
