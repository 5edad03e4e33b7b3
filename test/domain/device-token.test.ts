import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, deviceTokenToBytes, maskDeviceToken, parseDeviceToken } from '../../src/domain/index.ts';

const hex = (n: number, digit = 'a') => digit.repeat(n);

function reasonOf(input: unknown): string | undefined {
  const parsed = parseDeviceToken(input);
  if (parsed.ok) return undefined;
  expect(parsed.error.code).toBe('PK_ERR_TOKEN_INVALID');
  return parsed.error.reason;
}

describe('parseDeviceToken', () => {
  it.each([64, 128, 200])('accepts %i hex digits', (length) => {
    const parsed = parseDeviceToken(hex(length, 'b'));
    expect(parsed).toEqual({ ok: true, value: hex(length, 'b') });
  });

  it('normalises upper case to lower case', () => {
    const upper = `${'AB'.repeat(16)}${'cd'.repeat(16)}`;
    expect(parseDeviceToken(upper)).toEqual({ ok: true, value: upper.toLowerCase() });
  });

  it('rejects odd length, too short, too long, non-hex, spaces and empty input, each with its reason', () => {
    expect(reasonOf(hex(65))).toBe('odd-length');
    expect(reasonOf(hex(62))).toBe('too-short');
    expect(reasonOf(hex(202))).toBe('too-long');
    expect(reasonOf(`${hex(63)}g`)).toBe('not-hex');
    expect(reasonOf(`${hex(32)} ${hex(32)}`)).toBe('whitespace');
    expect(reasonOf(` ${hex(64)}`)).toBe('whitespace');
    expect(reasonOf('')).toBe('empty');
    expect(reasonOf(42)).toBe('not-a-string');
    expect(reasonOf(null)).toBe('not-a-string');
  });

  it('accepts the pre-iOS 13 NSData description form <xxxxxxxx …> and nothing looser', () => {
    const groups = Array.from({ length: 8 }, (_, i) => `${i}A${i}b${i}c${i}d`);
    const described = `<${groups.join(' ')}>`;
    expect(parseDeviceToken(described)).toEqual({ ok: true, value: groups.join('').toLowerCase() });
    expect(reasonOf(`<${hex(64)}`)).toBe('not-hex');
    expect(reasonOf(`<${groups.join('  ')}>`)).toBe('whitespace');
    expect(reasonOf('<>')).toBe('not-hex');
    expect(reasonOf(`<${groups.slice(0, 7).join(' ')}>`)).toBe('too-short');
  });

  it('masks tokens for logs', () => {
    expect(maskDeviceToken(`ab12${hex(56, '0')}cd9f`)).toBe('ab12…cd9f');
    expect(maskDeviceToken('abc')).toBe('…');
  });
});

describe('token normalisation properties', () => {
  const tokenBytes = fc.uint8Array({ minLength: 32, maxLength: 100 });

  it('round-trips bytes → hex → bytes', () => {
    fc.assert(
      fc.property(tokenBytes, (bytes) => {
        const parsed = parseDeviceToken(bytesToHex(bytes));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(Buffer.compare(deviceTokenToBytes(parsed.value), Buffer.from(bytes))).toBe(0);
      }),
    );
  });

  it('is idempotent, whatever the case of the input', () => {
    fc.assert(
      fc.property(tokenBytes, fc.boolean(), (bytes, upper) => {
        const text = upper ? bytesToHex(bytes).toUpperCase() : bytesToHex(bytes);
        const once = parseDeviceToken(text);
        expect(once.ok).toBe(true);
        if (!once.ok) return;
        expect(parseDeviceToken(once.value)).toEqual(once);
      }),
    );
  });

  it('never accepts what is not 64–200 even hex digits', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 240 }), (text) => {
        const parsed = parseDeviceToken(text);
        if (parsed.ok) {
          expect(parsed.value).toMatch(/^(?:[0-9a-f]{2}){32,100}$/);
        }
      }),
    );
  });
});
