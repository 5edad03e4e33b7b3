import { describe, expect, it } from 'vitest';
import { parseAlias, parseAudience, parseLocale, parseTags } from '../../src/domain/index.ts';

const token = 'ab'.repeat(32);

describe('audience', () => {
  it('accepts each form', () => {
    expect(parseAudience({ alias: '42' })).toEqual({ ok: true, value: { alias: '42' } });
    expect(parseAudience({ aliases: ['42', '43', '42'] })).toEqual({ ok: true, value: { aliases: ['42', '43'] } });
    expect(parseAudience({ tokens: [token.toUpperCase()] })).toEqual({ ok: true, value: { tokens: [token] } });
    expect(parseAudience({ tags: ['beta'] })).toEqual({ ok: true, value: { tags: ['beta'] } });
    expect(parseAudience({ all: true })).toEqual({ ok: true, value: { all: true } });
  });

  it('rejects shapes with stable codes', () => {
    const code = (value: unknown, max?: number) => {
      const parsed = parseAudience(value, max);
      return parsed.ok ? 'ok' : parsed.error.code;
    };
    expect(code({})).toBe('PK_ERR_AUDIENCE_INVALID');
    expect(code({ alias: '1', all: true })).toBe('PK_ERR_AUDIENCE_INVALID');
    expect(code({ all: false })).toBe('PK_ERR_AUDIENCE_INVALID');
    expect(code({ tokens: [] })).toBe('PK_ERR_AUDIENCE_INVALID');
    expect(code({ tokens: ['xyz'] })).toBe('PK_ERR_TOKEN_INVALID');
    expect(code({ alias: '' })).toBe('PK_ERR_ALIAS_INVALID');
    expect(code({ aliases: ['1', '2', '3'] }, 2)).toBe('PK_ERR_TOO_MANY_RECIPIENTS');
    expect(code({ everyone: true })).toBe('PK_ERR_AUDIENCE_INVALID');
    expect(code(null)).toBe('PK_ERR_AUDIENCE_INVALID');
  });

  it('reports which list entry is bad', () => {
    const parsed = parseAudience({ tokens: [token, 'nope'] });
    expect(parsed.ok || parsed.error.details).toMatchObject({ index: 1, field: 'tokens' });
  });
});

describe('device fields', () => {
  it('validates aliases, tags and locales', () => {
    expect(parseAlias('user-42').ok).toBe(true);
    expect(parseAlias('a\nb').ok).toBe(false);
    expect(parseAlias('x'.repeat(257)).ok).toBe(false);
    expect(parseTags(['b', 'a', 'b'])).toEqual({ ok: true, value: ['a', 'b'] });
    expect(parseTags('beta').ok).toBe(false);
    expect(parseTags(['']).ok).toBe(false);
    expect(parseLocale('en_GB').ok).toBe(true);
    expect(parseLocale('pt-BR').ok).toBe(true);
    expect(parseLocale('english please').ok).toBe(false);
  });
});
