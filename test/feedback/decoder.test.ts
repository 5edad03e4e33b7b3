import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FEEDBACK_MAX_TUPLE_BYTES, FeedbackDecoder, type FeedbackTuple } from '../../src/feedback/decoder.ts';

/** The test's own encoder: written from Apple's archived "The Feedback Service" tuple layout, independent of the decoder. */
interface RawTuple {
  readonly seconds: number;
  readonly token: Uint8Array;
}

function encode(tuples: readonly RawTuple[]): Buffer {
  const parts: Buffer[] = [];
  for (const t of tuples) {
    const header = Buffer.alloc(6);
    header.writeUInt32BE(t.seconds, 0);
    header.writeUInt16BE(t.token.length, 4);
    parts.push(header, Buffer.from(t.token));
  }
  return Buffer.concat(parts);
}

function expected(
  tuples: readonly RawTuple[],
): { failedAtMs: number; tokenHex: string; tokenLength: number }[] {
  return tuples.map((t) => ({
    failedAtMs: t.seconds * 1000,
    tokenHex: Buffer.from(t.token).toString('hex'),
    tokenLength: t.token.length,
  }));
}

function plain(
  tuples: readonly FeedbackTuple[],
): { failedAtMs: number; tokenHex: string; tokenLength: number }[] {
  return tuples.map((t) => ({
    failedAtMs: t.failedAt.getTime(),
    tokenHex: t.tokenHex,
    tokenLength: t.tokenLength,
  }));
}

/** Splits `bytes` at the given cut points (any order, duplicates allowed: empty chunks happen). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

function decodeAll(chunks: readonly Buffer[]): { tuples: FeedbackTuple[]; remainderBytes: number } {
  const decoder = new FeedbackDecoder();
  const tuples: FeedbackTuple[] = [];
  for (const chunk of chunks) tuples.push(...decoder.push(chunk));
  return { tuples, ...decoder.finish() };
}

const rawTuple = fc.record({
  seconds: fc.nat({ max: 0xffffffff }),
  token: fc.oneof(
    { weight: 4, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }) },
    { weight: 3, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 100 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 600 }) },
  ),
});

describe('FeedbackDecoder', () => {
  it('decodes any list of tuples split into any chunks exactly', () => {
    fc.assert(
      fc.property(
        fc.array(rawTuple, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (tuples, cuts) => {
          const bytes = encode(tuples);
          const result = decodeAll(split(bytes, cuts));
          expect(plain(result.tuples)).toEqual(expected(tuples));
          expect(result.remainderBytes).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('for any truncated stream yields the complete tuples and reports the remainder', () => {
    fc.assert(
      fc.property(
        fc.array(rawTuple, { minLength: 1, maxLength: 20 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 20 }),
        (tuples, cutAt, cuts) => {
          const bytes = encode(tuples);
          const length = cutAt % (bytes.length + 1);
          const truncated = bytes.subarray(0, length);
          // Which tuples fit entirely into the first `length` bytes, by walking the reference list.
          let complete = 0;
          let consumed = 0;
          for (const t of tuples) {
            if (consumed + 6 + t.token.length > length) break;
            consumed += 6 + t.token.length;
            complete += 1;
          }
          const result = decodeAll(split(truncated, cuts));
          expect(plain(result.tuples)).toEqual(expected(tuples.slice(0, complete)));
          expect(result.remainderBytes).toBe(length - consumed);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws and always terminates on arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (bytes, cuts) => {
          const result = decodeAll(split(Buffer.from(bytes), cuts));
          const decodedBytes = result.tuples.reduce((n, t) => n + 6 + t.tokenLength, 0);
          expect(decodedBytes + result.remainderBytes).toBe(bytes.length);
          expect(result.remainderBytes).toBeLessThanOrEqual(FEEDBACK_MAX_TUPLE_BYTES);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('waits for more data when it holds 38+ bytes but fewer than 6 + length (the PushSharp spin)', () => {
    const token = Buffer.alloc(100, 0xab);
    const bytes = encode([{ seconds: 1_700_000_000, token }]);
    const decoder = new FeedbackDecoder();
    expect(decoder.push(bytes.subarray(0, 50))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(50);
    expect(decoder.push(bytes.subarray(50, 105))).toEqual([]);
    const done = decoder.push(bytes.subarray(105));
    expect(plain(done)).toEqual(expected([{ seconds: 1_700_000_000, token }]));
    expect(decoder.finish().remainderBytes).toBe(0);
  });

  it('decodes a final tuple with a token shorter than 32 bytes (PushSharp needed 38 bytes)', () => {
    const tuples = [{ seconds: 5, token: Buffer.from('0102030405', 'hex') }];
    expect(plain(decodeAll([encode(tuples)]).tuples)).toEqual(expected(tuples));
  });

  it('reads lengths and times as unsigned: a 65535-byte token and a timestamp after 2038', () => {
    const big = Buffer.alloc(0xffff);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    const tuples = [
      { seconds: 0xffffffff, token: big },
      { seconds: 2_500_000_000, token: Buffer.alloc(32, 0xee) },
    ];
    const bytes = encode(tuples);
    // Byte by byte through the big token's header, then large pieces.
    const chunks = [
      ...Array.from({ length: 8 }, (_, i) => bytes.subarray(i, i + 1)),
      ...split(bytes.subarray(8), [9000, 40_000, 65_540]),
    ];
    const result = decodeAll(chunks);
    expect(plain(result.tuples)).toEqual(expected(tuples));
    expect(result.tuples[0]!.failedAt.toISOString()).toBe('2106-02-07T06:28:15.000Z');
    expect(result.tuples[1]!.failedAt.toISOString()).toBe('2049-03-22T04:26:40.000Z');
  });

  it('renders tokens as lower-case hex and reports UTC times', () => {
    const result = decodeAll([encode([{ seconds: 1_000_000_000, token: Buffer.from('ABCDEF', 'hex') }])]);
    expect(result.tuples[0]!.tokenHex).toBe('abcdef');
    expect(result.tuples[0]!.failedAt.toISOString()).toBe('2001-09-09T01:46:40.000Z');
  });

  it('is reusable after finish()', () => {
    const decoder = new FeedbackDecoder();
    const bytes = encode([{ seconds: 1, token: Buffer.alloc(32, 1) }]);
    decoder.push(bytes.subarray(0, 20));
    expect(decoder.finish().remainderBytes).toBe(20);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.push(bytes)).toHaveLength(1);
  });

  it('accepts plain Uint8Array chunks', () => {
    const bytes = encode([{ seconds: 7, token: Buffer.alloc(32, 9) }]);
    const decoder = new FeedbackDecoder();
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(decoder.push(view.subarray(0, 3))).toEqual([]);
    expect(plain(decoder.push(view.subarray(3)))).toEqual(
      expected([{ seconds: 7, token: Buffer.alloc(32, 9) }]),
    );
  });
});
