import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProviderTokenSource } from '../../../src/providers/apns/auth/provider-token.ts';
import type { Clock } from '../../../src/providers/apns/clock.ts';
import { PushkeeperError } from '../../../src/errors.ts';

const MINUTE = 60_000;

function manualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async () => {},
    advance(ms) {
      now += ms;
    },
    set(ms) {
      now = ms;
    },
  };
}

function key() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    signing: { teamId: 'TEAM123456', keyId: 'KEY1234567', privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
    publicKey,
  };
}

function decode(jwt: string) {
  const [header, claims, signature] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(claims!, 'base64url').toString()),
    signingInput: `${header}.${claims}`,
    signature: Buffer.from(signature!, 'base64url'),
  };
}

describe('ProviderTokenSource', () => {
  it('signs an ES256 JWT with alg+kid and iss+iat (seconds), raw 64-byte signature', () => {
    const { signing, publicKey } = key();
    const clock = manualClock();
    const token = new ProviderTokenSource({ key: signing, clock }).current();
    const parts = decode(token.jwt);
    expect(parts.header).toEqual({ alg: 'ES256', kid: 'KEY1234567' });
    expect(parts.claims).toEqual({ iss: 'TEAM123456', iat: Math.floor(clock.now() / 1000) });
    expect(parts.signature.length).toBe(64);
    expect(verify('sha256', Buffer.from(parts.signingInput), { key: publicKey, dsaEncoding: 'ieee-p1363' }, parts.signature)).toBe(true);
    expect(token.authorization).toBe(`bearer ${token.jwt}`);
  });

  it('reuses the token until the refresh age, then mints one; never sooner than 20 minutes', () => {
    const clock = manualClock();
    const source = new ProviderTokenSource({ key: key().signing, clock, refreshAfterMs: 1000 });
    const first = source.current();
    clock.advance(19 * MINUTE);
    expect(source.current()).toBe(first);
    clock.advance(1 * MINUTE);
    const second = source.current();
    expect(second.generation).toBe(first.generation + 1);
    expect(second.issuedAt - first.issuedAt).toBe(20 * 60);
  });

  it('clamps the refresh age to 50 minutes', () => {
    const clock = manualClock();
    const source = new ProviderTokenSource({ key: key().signing, clock, refreshAfterMs: 3 * 60 * MINUTE });
    const first = source.current();
    clock.advance(49 * MINUTE);
    expect(source.current()).toBe(first);
    clock.advance(1 * MINUTE);
    expect(source.current()).not.toBe(first);
  });

  it('regenerates once for many ExpiredProviderToken reports of the same generation', () => {
    const clock = manualClock();
    const source = new ProviderTokenSource({ key: key().signing, clock });
    const first = source.current();
    for (let i = 0; i < 100; i++) source.reportExpired(first.generation);
    const second = source.current();
    expect(second.generation).toBe(first.generation + 1);
    expect(second.jwt).not.toBe(first.jwt);
    expect(source.mintedCount).toBe(2);
    // a stale report (older generation) changes nothing
    source.reportExpired(first.generation);
    expect(source.current()).toBe(second);
  });

  it('forces a new token when the clock jumps back (iat in the future) or far ahead', () => {
    const clock = manualClock();
    const source = new ProviderTokenSource({ key: key().signing, clock });
    const first = source.current();
    clock.advance(-10 * MINUTE);
    const second = source.current();
    expect(second).not.toBe(first);
    expect(second.issuedAt).toBe(Math.floor(clock.now() / 1000));
    clock.advance(56 * MINUTE);
    expect(source.current()).not.toBe(second);
  });

  it('rejects keys that are not P-256 and malformed ids', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const attempt = (k: { teamId: string; keyId: string; privateKeyPem: string }) => {
      try {
        new ProviderTokenSource({ key: k });
        return 'ok';
      } catch (error) {
        return error instanceof PushkeeperError ? error.code : 'other';
      }
    };
    expect(attempt({ teamId: 'TEAM123456', keyId: 'KEY1234567', privateKeyPem: rsa })).toBe('PK_ERR_CREDENTIALS_INVALID');
    expect(attempt({ teamId: 'TEAM123456', keyId: 'KEY1234567', privateKeyPem: 'nope' })).toBe('PK_ERR_CREDENTIALS_INVALID');
    expect(attempt({ ...key().signing, teamId: 'short' })).toBe('PK_ERR_CREDENTIALS_INVALID');
    expect(attempt(key().signing)).toBe('ok');
  });
});
