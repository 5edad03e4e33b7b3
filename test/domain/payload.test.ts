import { describe, expect, it } from 'vitest';
import { checkPayloadBytes, serialisePayload } from '../../src/domain/index.ts';

/** A payload whose JSON is exactly `size` bytes, padded with a multi-byte character. */
function payloadOfBytes(size: number): Record<string, unknown> {
  const base = { aps: { alert: 'hi' }, pad: '' };
  const baseBytes = Buffer.byteLength(JSON.stringify(base));
  const remaining = size - baseBytes;
  const euros = Math.floor(remaining / 3); // '€' is 3 bytes of UTF-8
  const pad = '€'.repeat(euros) + 'x'.repeat(remaining - euros * 3);
  const payload = { aps: { alert: 'hi' }, pad };
  expect(Buffer.byteLength(JSON.stringify(payload))).toBe(size);
  return payload;
}

describe('payload', () => {
  it('counts bytes, not characters: 4096 bytes of multi-byte text pass, 4097 fail', () => {
    const exact = serialisePayload(payloadOfBytes(4096), 'alert');
    expect(exact.ok && exact.value.byteLength).toBe(4096);
    const over = serialisePayload(payloadOfBytes(4097), 'alert');
    expect(over.ok || over.error.code).toBe('PK_ERR_PAYLOAD_TOO_LARGE');
    expect(over.ok || over.error.details).toEqual({ bytes: 4097, limit: 4096 });
  });

  it('allows 5120 bytes for voip and no more', () => {
    expect(serialisePayload(payloadOfBytes(5120), 'voip').ok).toBe(true);
    const over = serialisePayload(payloadOfBytes(5121), 'voip');
    expect(over.ok || over.error.code).toBe('PK_ERR_PAYLOAD_TOO_LARGE');
  });

  it('serialises once and measures the bytes it will send', () => {
    const result = serialisePayload({ aps: { alert: 'Grüße' } }, 'alert');
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.bytes.toString('utf8')).toBe('{"aps":{"alert":"Grüße"}}');
      expect(result.value.byteLength).toBe(result.value.bytes.byteLength);
    }
  });

  const reason = (payload: unknown, type: Parameters<typeof serialisePayload>[1]) => {
    const result = serialisePayload(payload, type);
    return result.ok ? 'ok' : result.error.reason;
  };

  it('applies the aps rules per push type', () => {
    expect(reason({ aps: { 'content-available': 1 } }, 'background')).toBe('ok');
    expect(reason({ aps: { alert: 'x' } }, 'background')).toBe('background-needs-content-available');
    expect(reason({ aps: { 'content-available': 1, badge: 1 } }, 'background')).toBe('background-with-alert');
    expect(reason({ aps: { 'content-available': 2 } }, 'alert')).toBe('content-available-not-1');
    expect(reason({ aps: { alert: 'x', 'mutable-content': true } }, 'alert')).toBe('mutable-content-not-1');
    expect(reason({ aps: { badge: -1 } }, 'alert')).toBe('badge-not-number');
    expect(reason({ aps: { alert: 3 } }, 'alert')).toBe('alert-shape');
    expect(reason({ data: 1 }, 'alert')).toBe('missing-aps');
    expect(reason({ aps: [] }, 'alert')).toBe('aps-not-object');
    expect(reason({ mdm: 'magic' }, 'mdm')).toBe('ok');
    expect(reason({ aps: { event: 'update', timestamp: 1 } }, 'liveactivity')).toBe('ok');
    expect(reason({ aps: { event: 'go', timestamp: 1 } }, 'liveactivity')).toBe('liveactivity-event');
    expect(reason({ aps: { event: 'end' } }, 'liveactivity')).toBe('liveactivity-timestamp');
    expect(reason([], 'alert')).toBe('not-object');
    expect(reason('x', 'alert')).toBe('not-object');
  });

  it('rejects empty bytes', () => {
    const empty = checkPayloadBytes(Buffer.alloc(0), 'alert');
    expect(empty.ok || empty.error.reason).toBe('empty');
  });
});
