/** Rendering a portable message into FCM v1 JSON, and FCM token shapes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FCM_PAYLOAD_LIMIT, parseFcmToken, renderFcmMessage } from '../../src/domain/index.ts';

describe('renderFcmMessage', () => {
  it('maps every portable field to its v1 place', () => {
    const rendered = renderFcmMessage(
      {
        title: 'T',
        body: 'B',
        image: 'https://example.com/i.png',
        data: { a: 'x', n: 1, yes: false },
        badge: 3,
        sound: 'default',
        url: 'https://example.com/o/1',
        collapseKey: 'k',
        ttlSeconds: 0,
        priority: 'normal',
      },
      { channelId: 'c', color: '#AABBCC', restrictedPackageName: 'com.example' },
    );
    expect(rendered.ok).toBe(true);
    if (!rendered.ok) return;
    expect(JSON.parse(`{${rendered.value.membersJson}}`)).toEqual({
      notification: { title: 'T', body: 'B', image: 'https://example.com/i.png' },
      data: { a: 'x', n: '1', yes: 'false', url: 'https://example.com/o/1' },
      android: {
        collapse_key: 'k',
        priority: 'normal',
        ttl: '0s',
        restricted_package_name: 'com.example',
        notification: {
          channel_id: 'c',
          sound: 'default',
          notification_count: 3,
          tag: 'k',
          color: '#aabbcc',
        },
      },
    });
  });

  it.each([
    [{ data: { from: 'x' } }, 'reserved-data-key'],
    [{ data: { 'google.x': 'x' } }, 'reserved-data-key'],
    [{ data: { o: {} } }, 'data-value-type'],
    [{ title: 'x', ttlSeconds: 2_419_201 }, 'ttl-invalid'],
    [{ title: 'x', priority: 'urgent' }, 'priority-invalid'],
    [{ title: 'x', badge: -1 }, 'badge-invalid'],
    [{ title: 'x', image: 'ftp://x' }, 'image-not-url'],
    [{}, 'empty'],
  ])('refuses %j (%s)', (message, reason) => {
    const rendered = renderFcmMessage(message as never);
    expect(rendered.ok).toBe(false);
    if (!rendered.ok)
      expect([rendered.error.code, rendered.error.reason]).toEqual(['PK_ERR_FCM_MESSAGE_INVALID', reason]);
  });

  it('names the platform and the byte count when the payload is over 4096 bytes', () => {
    const rendered = renderFcmMessage({ title: 'é', data: { k: 'x'.repeat(FCM_PAYLOAD_LIMIT) } });
    expect(rendered.ok).toBe(false);
    if (!rendered.ok) {
      expect(rendered.error.code).toBe('PK_ERR_PAYLOAD_TOO_LARGE');
      expect(rendered.error.details).toEqual({
        platform: 'android',
        bytes: 2 + 1 + FCM_PAYLOAD_LIMIT,
        limit: FCM_PAYLOAD_LIMIT,
      });
    }
  });

  it('counts bytes exactly at the limit (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.string({ maxLength: 300 }),
        (title, value) => {
          const bytes = Buffer.byteLength(title) + 1 + Buffer.byteLength(value);
          const rendered = renderFcmMessage({ title, data: { k: value } });
          expect(rendered.ok).toBe(bytes <= FCM_PAYLOAD_LIMIT);
          if (rendered.ok) {
            expect(rendered.value.payloadBytes).toBe(bytes);
            expect(JSON.parse(`{${rendered.value.membersJson}}`).data.k).toBe(value);
          }
        },
      ),
    );
  });
});

describe('parseFcmToken', () => {
  it('accepts registration-token shapes and trims', () => {
    const token = `cAbCdEfGhIjKlMnOpQrStU:APA91b${'x'.repeat(134)}`;
    expect(parseFcmToken(` ${token} `)).toEqual({ ok: true, value: token });
  });

  it.each([
    ['', 'empty'],
    ['abc def'.repeat(10), 'whitespace'],
    ['a'.repeat(64), 'looks-like-apns'],
    ['short:APA91b', 'too-short'],
    ['x'.repeat(4097), 'too-long'],
    [`${'x'.repeat(40)}/`, 'bad-character'],
  ])('refuses %j (%s)', (input, reason) => {
    const parsed = parseFcmToken(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect([parsed.error.code, parsed.error.reason]).toEqual(['PK_ERR_FCM_TOKEN_INVALID', reason]);
  });
});
