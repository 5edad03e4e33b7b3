import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inTokenOrder, sortedTokens } from '../../src/store/token-order.ts';

const hexToken = fc
  .uint8Array({ minLength: 32, maxLength: 40 })
  .map((bytes) => Buffer.from(bytes).toString('hex'));

describe('sortedTokens (bucketed sort of device tokens)', () => {
  it('sorts random tokens exactly as the native sort, above and below the bucketing threshold', () => {
    fc.assert(
      fc.property(fc.array(hexToken, { minLength: 0, maxLength: 5000 }), (tokens) => {
        expect(sortedTokens(tokens)).toEqual([...tokens].sort());
      }),
      { numRuns: 30 },
    );
  });

  it('sorts tokens sharing prefixes, repeated tokens and strings that are not hex', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            hexToken.map((token) => `0000${token.slice(4)}`),
            hexToken.map((token) => `abc${token.slice(3, 8)}`),
            fc.constantFrom('0000', 'ffff', 'ABCD', 'zz', '', 'aé', '00'),
            fc.string(),
          ),
          { minLength: 2048, maxLength: 4000 },
        ),
        (tokens) => {
          expect(sortedTokens(tokens)).toEqual([...tokens].sort());
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('inTokenOrder (stable)', () => {
  it('keeps the input order of equal random tokens (small buckets, insertion sort)', () => {
    fc.assert(
      fc.property(fc.array(hexToken, { minLength: 1100, maxLength: 3000 }), (tokens) => {
        const items = [...tokens, ...tokens.slice(0, 500), ...tokens].map((t, index) => ({ t, index }));
        const expected = [...items].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.index - b.index));
        expect(inTokenOrder(items, (item) => item.t)).toEqual(expected);
      }),
      { numRuns: 10 },
    );
  });

  it('orders items by token, keeping the input order of equal tokens', () => {
    // Few distinct tokens, many repeats, above the bucketing threshold: stability is visible.
    const token = fc.constantFrom(
      ...Array.from({ length: 64 }, (_, i) => `${(i * 977).toString(16).padStart(4, '0')}${'ab'.repeat(30)}`),
      `0000${'0'.repeat(60)}`,
      'not hex',
    );
    fc.assert(
      fc.property(fc.array(token, { minLength: 0, maxLength: 6000 }), (tokens) => {
        const items = tokens.map((t, index) => ({ t, index }));
        const expected = [...items].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.index - b.index));
        expect(inTokenOrder(items, (item) => item.t)).toEqual(expected);
      }),
      { numRuns: 30 },
    );
  });
});
