import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkTtl,
  checkWebPushPlaintext,
  classifyWebPushAnswer,
  isValidTopic,
  parseRetryAfter,
  topicFromCollapseKey,
  urgencyFromPriority,
} from '../../src/domain/index.ts';

function answer(
  status: number,
  body = '',
  headers: Record<string, string> = {},
  host = 'fcm.googleapis.com',
) {
  return { status, body, header: (name: string) => headers[name], host };
}

describe('Web Push message rules', () => {
  it('topic: a valid key is kept; a long or foreign one is hashed to 32 base64url characters, deterministically', () => {
    expect(topicFromCollapseKey('order-7x')).toBe('order-7x');
    const long = topicFromCollapseKey('a collapse key: with spaces and more than thirty-two characters');
    expect(long).toHaveLength(32);
    expect(isValidTopic(long)).toBe(true);
    expect(topicFromCollapseKey('a collapse key: with spaces and more than thirty-two characters')).toBe(
      long,
    );
    // length ≡ 1 (mod 4) is refused by Apple's base64url decoding: derived as well.
    expect(topicFromCollapseKey('spike')).toHaveLength(32);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (key) => {
        const topic = topicFromCollapseKey(key);
        expect(isValidTopic(topic)).toBe(true);
        expect(topic.length % 4).not.toBe(1);
      }),
    );
  });

  it('urgency from priority', () => {
    expect(urgencyFromPriority('high')).toBe('high');
    expect(urgencyFromPriority(10)).toBe('high');
    expect(urgencyFromPriority(5)).toBe('normal');
    expect(urgencyFromPriority(undefined)).toBe('normal');
    expect(urgencyFromPriority(1)).toBe('low');
    expect(urgencyFromPriority('very-low')).toBe('very-low');
  });

  it('TTL is required: whole seconds from 0 to 2^31-1', () => {
    expect(checkTtl(0).ok).toBe(true);
    expect(checkTtl(2 ** 31 - 1).ok).toBe(true);
    for (const bad of [undefined, -1, 1.5, 2 ** 31, '60']) {
      const result = checkTtl(bad);
      expect(result.ok || result.error.code).toBe('PK_ERR_WEBPUSH_OPTIONS_INVALID');
    }
  });

  it('plaintext limit 3993 bytes, less the padding, naming the byte count', () => {
    expect(checkWebPushPlaintext(3993).ok).toBe(true);
    const padded = checkWebPushPlaintext(3900, 100);
    expect(padded.ok || padded.error.details).toEqual({ bytes: 3900, limit: 3893 });
  });
});

describe('Web Push answers → dispositions', () => {
  const now = Date.parse('2026-12-08T00:00:00Z');
  it('2xx accepted; 404/410 invalidate; 413 permanent', () => {
    expect(classifyWebPushAnswer(answer(201), now).accepted).toBe(true);
    expect(classifyWebPushAnswer(answer(202), now).accepted).toBe(true);
    expect(
      classifyWebPushAnswer(answer(410, 'push subscription has unsubscribed or expired.'), now),
    ).toMatchObject({
      disposition: 'invalidate-token',
      scope: 'device',
      reason: 'push subscription has unsubscribed or expired.',
    });
    expect(
      classifyWebPushAnswer(answer(404, '{"code":404,"errno":102,"message":"Invalid token"}'), now),
    ).toMatchObject({
      disposition: 'invalidate-token',
      reason: 'errno 102: Invalid token',
    });
    expect(classifyWebPushAnswer(answer(413, '{"reason":"PayloadTooLarge"}'), now)).toMatchObject({
      disposition: 'permanent',
      scope: 'notification',
      reason: 'PayloadTooLarge',
    });
  });

  it('429 and 5xx retry with Retry-After; WNS 406 is throttling', () => {
    expect(classifyWebPushAnswer(answer(429, '', { 'retry-after': '30' }), now)).toMatchObject({
      disposition: 'retry',
      retryAfterMs: 30_000,
    });
    expect(
      classifyWebPushAnswer(answer(503, '', { 'retry-after': 'Tue, 08 Dec 2026 00:02:00 GMT' }), now),
    ).toMatchObject({
      disposition: 'retry',
      retryAfterMs: 120_000,
    });
    expect(classifyWebPushAnswer(answer(500), now).disposition).toBe('retry');
    expect(classifyWebPushAnswer(answer(406, '', {}, 'db5p.notify.windows.com'), now).disposition).toBe(
      'retry',
    );
    expect(classifyWebPushAnswer(answer(406), now).disposition).toBe('permanent');
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('VAPID problems go to health; a key mismatch is about the subscription; other 400s never delete', () => {
    expect(classifyWebPushAnswer(answer(403, '{"reason":"BadJwtToken"}'), now)).toMatchObject({
      disposition: 'reauth',
      scope: 'credentials',
      health: 'unauthorized',
    });
    expect(classifyWebPushAnswer(answer(401, '{"errno":109}'), now).health).toBe('unauthorized');
    expect(classifyWebPushAnswer(answer(400, 'UnauthorizedRegistration'), now)).toMatchObject({
      disposition: 'reauth',
      health: 'misconfigured',
    });
    expect(classifyWebPushAnswer(answer(403, '{"reason":"VapidPkHashMismatch"}'), now).disposition).toBe(
      'invalidate-token',
    );
    expect(
      classifyWebPushAnswer(
        answer(
          403,
          'the VAPID credentials in the authorization header do not correspond to the credentials used to create the subscriptions.',
        ),
        now,
      ).disposition,
    ).toBe('invalidate-token');
    expect(classifyWebPushAnswer(answer(400, '{"reason":"BadWebPushTopic"}'), now)).toMatchObject({
      disposition: 'permanent',
      reason: 'BadWebPushTopic',
    });
    expect(
      classifyWebPushAnswer(
        answer(400, '', { 'x-wns-error-description': 'Ttl value conflicts with X-WNS-Cache-Policy.' }),
        now,
      ).reason,
    ).toBe('Ttl value conflicts with X-WNS-Cache-Policy.');
    expect(classifyWebPushAnswer(answer(301), now).disposition).toBe('permanent');
  });
});
