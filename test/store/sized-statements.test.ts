import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pieceSizes } from '../../src/store/sized-statements.ts';

describe('pieceSizes (statements compiled once per size)', () => {
  it('cuts a list into the largest size as often as it fits, then powers of two', () => {
    expect(pieceSizes(0, 8)).toEqual([]);
    expect(pieceSizes(1, 8)).toEqual([1]);
    expect(pieceSizes(8, 8)).toEqual([8]);
    expect(pieceSizes(13, 8)).toEqual([8, 4, 1]);
    expect(pieceSizes(4095 * 2 + 3, 4095)).toEqual([4095, 4095, 2, 1]);
  });

  it('covers every item exactly once with few, reusable sizes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 1, max: 10_000 }), (count, max) => {
        const sizes = pieceSizes(count, max);
        expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(count);
        for (const size of sizes) {
          // Only `max` and powers of two below it: a bounded set of SQL texts per statement.
          expect(size === max || (size < max && Number.isInteger(Math.log2(size)))).toBe(true);
        }
        expect(sizes.length).toBeLessThanOrEqual(Math.floor(count / max) + Math.log2(max) + 1);
      }),
    );
  });
});
