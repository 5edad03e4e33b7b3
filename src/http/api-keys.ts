/**
 * API key secrets: 256 bits from the CSPRNG behind a recognisable prefix (so a leaked key is easy
 * to spot in a repository scan), shown once, stored only as their SHA-256 (docs/security.md).
 * A key is high-entropy, so a plain unsalted SHA-256 is enough: there is nothing to brute-force.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyScope } from '../store/contract.ts';

export const API_KEY_PREFIXES: Readonly<Record<Exclude<ApiKeyScope, 'admin'>, string>> = {
  server: 'pk_server_',
  publishable: 'pk_pub_',
};

/** How many characters of the secret the store keeps to let people recognise a key in a list. */
const DISPLAY_PREFIX_EXTRA_CHARS = 4;

export interface GeneratedApiKey {
  /** The whole secret: answered once, never stored. */
  readonly secret: string;
  readonly sha256: string;
  /** e.g. `pk_server_ab12`: safe to show in lists. */
  readonly displayPrefix: string;
}

/** Runs on every authenticated request: the one-shot `hash` costs a third of a `createHash` object. */
export function hashApiKey(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function generateApiKey(scope: Exclude<ApiKeyScope, 'admin'>): GeneratedApiKey {
  const prefix = API_KEY_PREFIXES[scope];
  const secret = prefix + randomBytes(32).toString('base64url');
  return {
    secret,
    sha256: hashApiKey(secret),
    displayPrefix: secret.slice(0, prefix.length + DISPLAY_PREFIX_EXTRA_CHARS),
  };
}

/** Constant-time comparison of two hex SHA-256 digests (equal length by construction). */
export function sha256HexEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === 32 && right.length === 32 && timingSafeEqual(left, right);
}

/**
 * Why a request carries no usable key, each with its own code so the answer says what to fix:
 * nothing sent, the key in `X-API-Key` (a common convention elsewhere), or an Authorization header
 * that is not `Bearer <key>` (RFC 6750 §2.1: the scheme, one space, the token).
 */
export type KeyPresentationProblem = 'PK_ERR_API_KEY_MISSING' | 'PK_ERR_API_KEY_HEADER' | 'PK_ERR_API_KEY_SCHEME';

export function presentedKey(headers: {
  readonly authorization?: string | undefined;
  readonly [name: string]: unknown;
}): { readonly secret: string } | { readonly problem: KeyPresentationProblem } {
  const authorization = headers.authorization;
  if (authorization === undefined || authorization.trim() === '') {
    return { problem: headers['x-api-key'] === undefined ? 'PK_ERR_API_KEY_MISSING' : 'PK_ERR_API_KEY_HEADER' };
  }
  const secret = bearerToken(authorization);
  return secret === null ? { problem: 'PK_ERR_API_KEY_SCHEME' } : { secret };
}

/** `Authorization: Bearer <key>` → the key; anything else → null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
