import { describe, expect, it } from 'vitest';
import {
  PUSH_TYPE_RULES,
  PUSH_TYPES,
  parseNotificationOptions,
  parsePushType,
  splitTopic,
  topicFor,
} from '../../src/domain/index.ts';

describe('push types', () => {
  it('knows all eleven push types', () => {
    expect([...PUSH_TYPES].sort()).toEqual(
      ['alert', 'background', 'complication', 'controls', 'fileprovider', 'liveactivity', 'location', 'mdm', 'pushtotalk', 'voip', 'widgets'],
    );
  });

  it.each([
    ['alert', 'com.example.app'],
    ['background', 'com.example.app'],
    ['voip', 'com.example.app.voip'],
    ['complication', 'com.example.app.complication'],
    ['fileprovider', 'com.example.app.pushkit.fileprovider'],
    ['mdm', 'com.example.app'],
    ['location', 'com.example.app.location-query'],
    ['liveactivity', 'com.example.app.push-type.liveactivity'],
    ['pushtotalk', 'com.example.app.voip-ptt'],
    ['widgets', 'com.example.app.push-type.widgets'],
    ['controls', 'com.example.app.push-type.controls'],
  ] as const)('derives the topic of %s as %s', (type, topic) => {
    expect(topicFor('com.example.app', type)).toBe(topic);
    expect(splitTopic(topic).bundleId).toBe('com.example.app');
    expect(splitTopic(topic).suffixTypes).toContain(type);
  });

  it('limits payloads to 4096 bytes, 5120 for voip', () => {
    for (const type of PUSH_TYPES) {
      expect(PUSH_TYPE_RULES[type].maxPayloadBytes).toBe(type === 'voip' ? 5120 : 4096);
    }
  });

  it('allows certificate auth for all but the token-only types', () => {
    const tokenOnly = PUSH_TYPES.filter((type) => !PUSH_TYPE_RULES[type].certificateAuth).sort();
    expect(tokenOnly).toEqual(['controls', 'liveactivity', 'location', 'widgets']);
  });

  it('allows background only at priority 5, and rejects unknown types', () => {
    expect(parseNotificationOptions({ pushType: 'background' })).toMatchObject({ ok: true, value: { priority: 5 } });
    const ten = parseNotificationOptions({ pushType: 'background', priority: 10 });
    expect(ten.ok || ten.error.code).toBe('PK_ERR_PRIORITY_NOT_ALLOWED');
    const one = parseNotificationOptions({ pushType: 'background', priority: 1 });
    expect(one.ok || one.error.code).toBe('PK_ERR_PRIORITY_NOT_ALLOWED');
    const location = parseNotificationOptions({ pushType: 'location', priority: 1 });
    expect(location.ok || location.error.code).toBe('PK_ERR_PRIORITY_NOT_ALLOWED');
    const bad = parsePushType('banner');
    expect(bad.ok || bad.error.code).toBe('PK_ERR_PUSH_TYPE_INVALID');
  });

  it.each(PUSH_TYPES)('accepts %s with each of its own priorities', (type) => {
    for (const priority of PUSH_TYPE_RULES[type].priorities) {
      expect(parseNotificationOptions({ pushType: type, priority }).ok).toBe(true);
    }
    expect(parseNotificationOptions({ pushType: type })).toMatchObject({
      ok: true,
      value: { priority: PUSH_TYPE_RULES[type].defaultPriority },
    });
  });
});

describe('notification options', () => {
  const code = (input: Parameters<typeof parseNotificationOptions>[0]) => {
    const parsed = parseNotificationOptions(input);
    return parsed.ok ? 'ok' : parsed.error.code;
  };

  it('checks priority, expiration, collapse id and apns-id', () => {
    expect(code({ priority: 7 })).toBe('PK_ERR_PRIORITY_INVALID');
    expect(code({ priority: '10' })).toBe('PK_ERR_PRIORITY_INVALID');
    expect(code({ expiration: 0 })).toBe('ok');
    expect(code({ expiration: 1_900_000_000 })).toBe('ok');
    expect(code({ expiration: -1 })).toBe('PK_ERR_EXPIRATION_INVALID');
    expect(code({ expiration: 1.5 })).toBe('PK_ERR_EXPIRATION_INVALID');
    expect(code({ expiration: '0' })).toBe('PK_ERR_EXPIRATION_INVALID');
    expect(code({ collapseId: 'x'.repeat(64) })).toBe('ok');
    expect(code({ collapseId: 'x'.repeat(65) })).toBe('PK_ERR_COLLAPSE_ID_INVALID');
    // 32 two-byte characters are 64 bytes; one more character is 66 bytes though only 33 characters.
    expect(code({ collapseId: 'é'.repeat(32) })).toBe('ok');
    expect(code({ collapseId: 'é'.repeat(33) })).toBe('PK_ERR_COLLAPSE_ID_INVALID');
    expect(code({ collapseId: '' })).toBe('PK_ERR_COLLAPSE_ID_INVALID');
    expect(code({ apnsId: '123e4567-e89b-12d3-a456-4266554400a0' })).toBe('ok');
    expect(code({ apnsId: '123E4567-E89B-12D3-A456-4266554400A0' })).toBe('PK_ERR_APNS_ID_INVALID');
    expect(code({ apnsId: '123e4567e89b12d3a4564266554400a0' })).toBe('PK_ERR_APNS_ID_INVALID');
  });
});
