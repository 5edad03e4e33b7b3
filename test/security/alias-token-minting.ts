/**
 * How a backend mints an aliasToken, written out by hand (no JWT library) so the tests judge the
 * verifier against an independent encoder, and can build the malformed tokens a library refuses to.
 */
import { createHmac } from 'node:crypto';

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

export function mintAliasToken(
  secret: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** A token for `alias` that expires `lifetimeSeconds` after `nowSeconds` (default: now, 10 minutes). */
export function aliasTokenFor(
  secret: string,
  alias: string,
  options: { nowSeconds?: number; lifetimeSeconds?: number } = {},
): string {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  return mintAliasToken(secret, { sub: alias, iat: now, exp: now + (options.lifetimeSeconds ?? 600) });
}
