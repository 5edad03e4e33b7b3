import { describe, expect, it } from 'vitest';
import { generateVapidKeys, VapidSigner } from '../../../src/providers/webpush/vapid.ts';
import { checkVapidAuthorization } from '../../../src/testing/webpush-vapid-check.ts';

const subject = 'mailto:ops@example.com';

function clockAt(ms: number) {
  const clock = { t: ms, now: () => clock.t };
  return clock;
}

describe('VAPID (RFC 8292)', () => {
  it('verifies the RFC 8292 §2.4 example header with a pinned clock', () => {
    const header =
      'vapid t=eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA, k=BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs';
    const check = checkVapidAuthorization(header, 'https://push.example.net', 1453523768 - 3600);
    expect(check.ok && check.sub).toBe('mailto:push@example.com');
    expect(checkVapidAuthorization(header, 'https://push.example.net', 1453523768).ok).toBe(false);
    const wrongAud = checkVapidAuthorization(header, 'https://other.example.net', 1453523768 - 3600);
    expect(wrongAud.ok || wrongAud.failure).toBe('bad-aud');
  });

  it('signs a token per origin that a push service accepts: aud = origin, exp ≤ 24 h, sub, raw R‖S', () => {
    const keys = generateVapidKeys();
    const now = 1_800_000_000_000;
    const signer = new VapidSigner({ ...keys, subject }, { clock: clockAt(now) });
    const header = signer.authorization('https://fcm.googleapis.com');
    expect(header).toMatch(/^vapid t=[^,]+, k=[A-Za-z0-9_-]{87}$/);
    const check = checkVapidAuthorization(header, 'https://fcm.googleapis.com', now / 1000);
    expect(check.ok).toBe(true);
    if (check.ok) {
      expect(check.publicKey).toBe(keys.publicKey);
      expect(check.sub).toBe(subject);
      expect(check.exp - now / 1000).toBe(12 * 3600);
    }
    const [h] = (check.ok ? check.token : '').split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ES256' });
  });

  it('caches one token per origin and renews it an hour before it expires', () => {
    const keys = generateVapidKeys();
    const clock = clockAt(1_800_000_000_000);
    const signer = new VapidSigner({ ...keys, subject }, { clock });
    const first = signer.authorization('https://a.push.apple.com');
    expect(signer.authorization('https://a.push.apple.com')).toBe(first);
    const other = signer.authorization('https://fcm.googleapis.com');
    expect(other).not.toBe(first);
    expect(signer.tokensSigned).toBe(2);
    clock.t += 10.9 * 3600_000;
    expect(signer.authorization('https://a.push.apple.com')).toBe(first);
    clock.t += 0.2 * 3600_000;
    const renewed = signer.authorization('https://a.push.apple.com');
    expect(renewed).not.toBe(first);
    expect(signer.tokensSigned).toBe(3);
    expect(checkVapidAuthorization(renewed, 'https://a.push.apple.com', clock.t / 1000).ok).toBe(true);
  });

  it('refuses bad keys and unusable subjects with PK_ERR_WEBPUSH_VAPID_INVALID', () => {
    const keys = generateVapidKeys();
    const other = generateVapidKeys();
    const cases = [
      { ...keys, subject: 'mailto:ops@localhost' },
      { ...keys, subject: 'mailto: <ops@example.com>' },
      { ...keys, subject: 'ops@example.com' },
      { ...keys, subject: 'https://localhost/contact' },
      { publicKey: keys.publicKey, privateKey: other.privateKey, subject },
      { publicKey: keys.publicKey.slice(0, 40), privateKey: keys.privateKey, subject },
      { publicKey: keys.publicKey, privateKey: 'not base64!', subject },
    ];
    for (const credentials of cases) {
      expect(() => new VapidSigner(credentials)).toThrow(
        expect.objectContaining({ code: 'PK_ERR_WEBPUSH_VAPID_INVALID' }),
      );
    }
    expect(new VapidSigner({ ...keys, subject: 'https://example.com/contact' }).publicKey).toBe(
      keys.publicKey,
    );
  });

  it('the mock refuses tampered tokens, another key, DER signatures and far expiries', () => {
    const keys = generateVapidKeys();
    const now = 1_800_000_000_000;
    const signer = new VapidSigner({ ...keys, subject }, { clock: clockAt(now) });
    const origin = 'https://fcm.googleapis.com';
    const good = signer.authorization(origin);
    const nowS = now / 1000;
    const otherKey = generateVapidKeys().publicKey;
    expect(checkVapidAuthorization(good.replace(/k=.*/, `k=${otherKey}`), origin, nowS)).toEqual({
      ok: false,
      failure: 'bad-signature',
    });
    expect(checkVapidAuthorization(good.replace('vapid', 'WebPush'), origin, nowS)).toEqual({
      ok: false,
      failure: 'bad-scheme',
    });
    expect(checkVapidAuthorization(undefined, origin, nowS)).toEqual({
      ok: false,
      failure: 'missing-authorization',
    });
    const far = `vapid t=${signer.token(origin, nowS + 25 * 3600)}, k=${keys.publicKey}`;
    expect(checkVapidAuthorization(far, origin, nowS)).toEqual({ ok: false, failure: 'exp-too-far' });
    // Parameters in the other order are fine (RFC 8292 §3).
    const t = good.slice('vapid t='.length, good.indexOf(','));
    expect(checkVapidAuthorization(`Vapid k=${keys.publicKey},t=${t}`, origin, nowS).ok).toBe(true);
  });
});
