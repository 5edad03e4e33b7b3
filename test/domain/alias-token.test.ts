import fc from 'fast-check';
import { createSigner } from 'fast-jwt';
import { describe, expect, it } from 'vitest';
import { verifyAliasToken } from '../../src/domain/index.ts';
import { mintAliasToken } from '../security/alias-token-minting.ts';

const SECRET = 'pk_idsec_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
const NOW = 1_800_000_000;

/** A JWT library's tokens (fast-jwt, an independent implementation); expiresIn in milliseconds. */
function librarySigned(
  claims: Record<string, unknown>,
  algorithm: 'HS256' | 'HS512',
  expiresInMs?: number,
): string {
  const sign = createSigner({
    key: SECRET,
    algorithm,
    ...(expiresInMs === undefined ? {} : { expiresIn: expiresInMs }),
  });
  return sign(claims);
}

function reason(result: ReturnType<typeof verifyAliasToken>): string | undefined {
  expect(result.ok).toBe(false);
  if (result.ok) return undefined;
  expect(result.error.code).toBe('PK_ERR_ALIAS_TOKEN_INVALID');
  return result.error.reason;
}

describe('verifyAliasToken', () => {
  it('accepts an HS256 token for its alias, minted by hand or by a JWT library', () => {
    const byHand = mintAliasToken(SECRET, { sub: 'user-42', iat: NOW, exp: NOW + 3600 });
    expect(verifyAliasToken(byHand, SECRET, 'user-42', NOW)).toEqual({
      ok: true,
      value: { alias: 'user-42', expiresAt: NOW + 3600 },
    });
    const byLibrary = librarySigned({ sub: 'user-42' }, 'HS256', 24 * 3600 * 1000);
    const nowSeconds = Math.floor(Date.now() / 1000);
    const verified = verifyAliasToken(byLibrary, SECRET, 'user-42', nowSeconds);
    expect(verified.ok && verified.value.alias).toBe('user-42');
    // With no alias asked for, the token names it.
    expect(verifyAliasToken(byHand, SECRET, null, NOW)).toMatchObject({
      ok: true,
      value: { alias: 'user-42' },
    });
  });

  it('refuses every algorithm but HS256, `none` first of all', () => {
    const claims = { sub: 'victim', exp: NOW + 60 };
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    expect(reason(verifyAliasToken(unsigned, SECRET, 'victim', NOW))).toBe('algorithm');
    for (const alg of ['HS512', 'HS384', 'hs256', 'RS256', 'ES256', '']) {
      const token = mintAliasToken(SECRET, claims, { alg, typ: 'JWT' });
      expect(reason(verifyAliasToken(token, SECRET, 'victim', NOW)), alg).toBe('algorithm');
    }
    const noAlg = mintAliasToken(SECRET, claims, { typ: 'JWT' });
    expect(reason(verifyAliasToken(noAlg, SECRET, 'victim', NOW))).toBe('algorithm');
    const hs512 = librarySigned(claims, 'HS512');
    expect(reason(verifyAliasToken(hs512, SECRET, 'victim', NOW))).toBe('algorithm');
  });

  it('refuses another secret, a changed claim and a truncated signature', () => {
    const token = mintAliasToken(SECRET, { sub: 'alice', exp: NOW + 60 });
    expect(reason(verifyAliasToken(token, `${SECRET}x`, 'alice', NOW))).toBe('signature');
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'mallory', exp: NOW + 60 })).toString('base64url');
    expect(reason(verifyAliasToken(`${header}.${forged}.${signature}`, SECRET, 'mallory', NOW))).toBe(
      'signature',
    );
    expect(
      reason(
        verifyAliasToken(`${header}.${token.split('.')[1]}.${signature!.slice(0, 20)}`, SECRET, 'alice', NOW),
      ),
    ).toBe('signature');
  });

  it('refuses a token whose sub is another alias', () => {
    const token = mintAliasToken(SECRET, { sub: 'mallory', exp: NOW + 60 });
    expect(reason(verifyAliasToken(token, SECRET, 'victim', NOW))).toBe('subject-mismatch');
  });

  it('allows 60 s of clock skew around exp, nbf and iat, and no more', () => {
    const expiredWithinSkew = mintAliasToken(SECRET, { sub: 'a', exp: NOW - 59 });
    expect(verifyAliasToken(expiredWithinSkew, SECRET, 'a', NOW).ok).toBe(true);
    expect(
      reason(verifyAliasToken(mintAliasToken(SECRET, { sub: 'a', exp: NOW - 60 }), SECRET, 'a', NOW)),
    ).toBe('expired');
    expect(
      reason(verifyAliasToken(mintAliasToken(SECRET, { sub: 'a', exp: NOW - 3600 }), SECRET, 'a', NOW)),
    ).toBe('expired');
    const early = (claim: string, offset: number) =>
      verifyAliasToken(
        mintAliasToken(SECRET, { sub: 'a', exp: NOW + 600, [claim]: NOW + offset }),
        SECRET,
        'a',
        NOW,
      );
    expect(early('nbf', 60).ok).toBe(true);
    expect(early('iat', 60).ok).toBe(true);
    expect(reason(early('nbf', 61))).toBe('not-yet-valid');
    expect(reason(early('iat', 61))).toBe('not-yet-valid');
  });

  it('refuses a lifetime over 24 hours, from now or from iat', () => {
    const day = 24 * 3600;
    expect(verifyAliasToken(mintAliasToken(SECRET, { sub: 'a', exp: NOW + day }), SECRET, 'a', NOW).ok).toBe(
      true,
    );
    expect(
      reason(verifyAliasToken(mintAliasToken(SECRET, { sub: 'a', exp: NOW + day + 61 }), SECRET, 'a', NOW)),
    ).toBe('lifetime-too-long');
    const week = mintAliasToken(SECRET, { sub: 'a', iat: NOW - 6 * day, exp: NOW + day });
    expect(reason(verifyAliasToken(week, SECRET, 'a', NOW))).toBe('lifetime-too-long');
    const longLived = librarySigned({ sub: 'a' }, 'HS256', 7 * 24 * 3600 * 1000);
    expect(reason(verifyAliasToken(longLived, SECRET, 'a', Math.floor(Date.now() / 1000)))).toBe(
      'lifetime-too-long',
    );
  });

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['two parts', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0'],
    ['four parts', 'a.b.c.d'],
    ['padding', `${mintAliasToken(SECRET, { sub: 'a', exp: NOW + 60 })}=`],
    ['header not JSON', `${Buffer.from('nope').toString('base64url')}.e30.sig`],
    ['header an array', `${Buffer.from('["HS256"]').toString('base64url')}.e30.sig`],
    ['too long', 'a'.repeat(5000)],
  ])('refuses a malformed token (%s)', (_name, token) => {
    expect(reason(verifyAliasToken(token, SECRET, 'a', NOW))).toBe('malformed');
  });

  it.each([
    ['no sub', { exp: NOW + 60 }],
    ['an empty sub', { sub: '', exp: NOW + 60 }],
    ['a numeric sub', { sub: 42, exp: NOW + 60 }],
    ['no exp', { sub: 'a' }],
    ['a string exp', { sub: 'a', exp: String(NOW + 60) }],
    ['a string nbf', { sub: 'a', exp: NOW + 60, nbf: 'soon' }],
  ])('refuses a signed token with %s', (_name, claims) => {
    expect(reason(verifyAliasToken(mintAliasToken(SECRET, claims), SECRET, null, NOW))).toBe('malformed');
  });

  it('refuses critical header extensions it does not understand', () => {
    const token = mintAliasToken(
      SECRET,
      { sub: 'a', exp: NOW + 60 },
      { alg: 'HS256', crit: ['b64'], b64: false },
    );
    expect(reason(verifyAliasToken(token, SECRET, 'a', NOW))).toBe('malformed');
  });

  it('refuses any change to any character of a valid token', () => {
    const token = mintAliasToken(SECRET, { sub: 'user-7', exp: NOW + 600 });
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.constantFrom(...'ABCabc012-_.'), (index, replacement) => {
        fc.pre(token[index] !== replacement);
        const changed = token.slice(0, index) + replacement + token.slice(index + 1);
        // base64url's last character may carry unused bits: decoding can land on the same bytes.
        const sameBytes = changed
          .split('.')
          .every((part, i) =>
            Buffer.from(part, 'base64url').equals(Buffer.from(token.split('.')[i] ?? '', 'base64url')),
          );
        fc.pre(!sameBytes || changed.split('.').length !== 3);
        expect(verifyAliasToken(changed, SECRET, 'user-7', NOW).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
