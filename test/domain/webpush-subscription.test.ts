import { describe, expect, it } from 'vitest';
import { checkWebPushEndpoint, decodeBase64url, parseWebPushSubscription } from '../../src/domain/index.ts';
import { isP256Point } from '../../src/providers/webpush/p256.ts';

const p256dh = 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4';
const auth = 'BTBZMqHH6r4Tts7J_aSIgg';

function sub(
  endpoint: string,
  keys: Record<string, unknown> = { p256dh, auth },
  extra: Record<string, unknown> = {},
) {
  return { endpoint, keys, ...extra };
}

function reasonOf(result: ReturnType<typeof parseWebPushSubscription>): [string, string | undefined] | 'ok' {
  return result.ok ? 'ok' : [result.error.code, result.error.reason];
}

describe('Web Push subscriptions', () => {
  it('accepts the four push services, keeping the endpoint verbatim (path and query)', () => {
    const endpoints = [
      'https://fcm.googleapis.com/fcm/send/dGhpcyBpcyBhbiBleGFtcGxl:APA91bExample',
      'https://updates.push.services.mozilla.com/wpush/v2/gAAAAABn',
      'https://web.push.apple.com/QGuQyavXutnMH7SLTbhS',
      'https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB%2bWm',
      'https://fcm.googleapis.com:443/wp/abc',
    ];
    for (const endpoint of endpoints) {
      const result = parseWebPushSubscription(sub(endpoint));
      expect(result.ok && result.value.endpoint).toBe(endpoint);
    }
    const wns = parseWebPushSubscription(sub(endpoints[3]!));
    expect(wns.ok && wns.value.origin).toBe('https://wns2-par02p.notify.windows.com');
  });

  it('refuses hosts that only look like push services, other ports, and non-https', () => {
    const refused = [
      'https://fcm.googleapis.com.evil.com/x',
      'https://evil-push.apple.com.attacker.net/x',
      'https://evilpush.apple.com/x',
      'https://169.254.169.254/latest/meta-data',
      'https://127.0.0.1:6379/',
      'https://fcm.googleapis.com:8443/x',
      'https://notify.windows.com.example/x',
    ];
    for (const endpoint of refused) {
      expect(reasonOf(parseWebPushSubscription(sub(endpoint)))).toEqual([
        'PK_ERR_WEBPUSH_ENDPOINT_NOT_ALLOWED',
        'host-not-allowed',
      ]);
    }
    expect(reasonOf(parseWebPushSubscription(sub('http://fcm.googleapis.com/x')))).toEqual([
      'PK_ERR_WEBPUSH_SUBSCRIPTION_INVALID',
      'endpoint-not-https',
    ]);
    expect(reasonOf(parseWebPushSubscription(sub('https://u:p@fcm.googleapis.com/x')))[1]).toBe(
      'endpoint-userinfo',
    );
    expect(reasonOf(parseWebPushSubscription(sub('https://fcm.googleapis.com/x#y')))[1]).toBe(
      'endpoint-fragment',
    );
    expect(reasonOf(parseWebPushSubscription(sub('not a url')))[1]).toBe('endpoint-not-url');
    expect(reasonOf(parseWebPushSubscription(sub(`https://fcm.googleapis.com/${'a'.repeat(2100)}`)))[1]).toBe(
      'endpoint-too-long',
    );
  });

  it('allows a host:port only when the app lists it (a mock push service)', () => {
    const mock = 'https://127.0.0.1:4460/push/abc';
    expect(checkWebPushEndpoint(mock).ok).toBe(false);
    expect(checkWebPushEndpoint(mock, { allowedEndpointHosts: ['127.0.0.1:4460'] }).ok).toBe(true);
    expect(checkWebPushEndpoint(mock, { allowedEndpointHosts: ['127.0.0.1'] }).ok).toBe(false);
    expect(
      checkWebPushEndpoint('https://push.example.org/x', { allowedEndpointHosts: ['push.example.org'] }).ok,
    ).toBe(true);
  });

  it('checks the keys: p256dh 65 bytes starting 0x04, auth exactly 16, base64url (padding and +/ tolerated)', () => {
    const fcm = 'https://fcm.googleapis.com/fcm/send/x';
    expect(reasonOf(parseWebPushSubscription(sub(fcm, { auth })))[1]).toBe('p256dh-missing');
    expect(reasonOf(parseWebPushSubscription(sub(fcm, { p256dh })))[1]).toBe('auth-missing');
    expect(reasonOf(parseWebPushSubscription(sub(fcm, { p256dh: p256dh.slice(0, 80), auth })))[1]).toBe(
      'p256dh-length',
    );
    const compressed = Buffer.from(p256dh, 'base64url');
    compressed[0] = 0x03;
    expect(
      reasonOf(parseWebPushSubscription(sub(fcm, { p256dh: compressed.toString('base64url'), auth })))[1],
    ).toBe('p256dh-not-uncompressed');
    expect(reasonOf(parseWebPushSubscription(sub(fcm, { p256dh: `${p256dh.slice(0, 86)}!`, auth })))[1]).toBe(
      'p256dh-not-base64url',
    );
    expect(reasonOf(parseWebPushSubscription(sub(fcm, { p256dh, auth: `${auth}AAAA` })))[1]).toBe(
      'auth-length',
    );
    expect(reasonOf(parseWebPushSubscription(sub(fcm, { p256dh, auth: auth.slice(0, 20) })))[1]).toBe(
      'auth-length',
    );
    const padded = Buffer.from(p256dh, 'base64url').toString('base64');
    const parsed = parseWebPushSubscription(
      sub(fcm, { p256dh: padded, auth: `${Buffer.from(auth, 'base64url').toString('base64')}` }),
    );
    expect(parsed.ok && parsed.value.p256dh).toBe(p256dh);
    expect(parsed.ok && parsed.value.auth).toBe(auth);
  });

  it('expirationTime: null or a future time; a past one is refused', () => {
    const fcm = 'https://fcm.googleapis.com/fcm/send/x';
    expect(parseWebPushSubscription(sub(fcm, undefined, { expirationTime: null })).ok).toBe(true);
    expect(
      reasonOf(parseWebPushSubscription(sub(fcm, undefined, { expirationTime: 1000 }), {}, 2000))[1],
    ).toBe('expired');
    expect(reasonOf(parseWebPushSubscription(sub(fcm, undefined, { expirationTime: 'soon' })))[1]).toBe(
      'expiration-invalid',
    );
    expect(reasonOf(parseWebPushSubscription('x'))[1]).toBe('not-object');
  });

  it('decodeBase64url refuses impossible lengths and foreign characters', () => {
    expect(decodeBase64url('abcde')).toBeUndefined();
    expect(decodeBase64url('ab cd')).toBeUndefined();
    expect(decodeBase64url('YQ==')?.canonical).toBe('YQ');
  });

  it('the provider checks that p256dh is on the curve (RFC 8291 §7)', () => {
    const point = Buffer.from(p256dh, 'base64url');
    expect(isP256Point(point)).toBe(true);
    const off = Buffer.from(point);
    off[64] = off[64]! ^ 1;
    expect(isP256Point(off)).toBe(false);
  });
});
