/**
 * Fuzzing the decoders that read bytes from the network: the HPACK decoder (RFC 7541) and the
 * legacy feedback decoder. Arbitrary bytes never crash them beyond their documented failure (a
 * typed HpackError; the feedback decoder never throws), and what they decode does not depend on
 * how the bytes were cut into chunks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeedbackDecoder, type FeedbackTuple } from '../../src/feedback/decoder.ts';
import { HpackDecoder } from '../../src/http2/hpack-decoder.ts';
import { HpackEncoder } from '../../src/http2/hpack-encoder.ts';
import { HpackError } from '../../src/http2/hpack-error.ts';
import { FUZZ_TIMEOUT_MS, fuzzRuns } from './fuzz-runs.ts';

const HPACK_REASONS = new Set([
  'truncated',
  'integer-overflow',
  'index-invalid',
  'huffman-eos',
  'huffman-padding',
  'table-size-too-large',
  'table-size-update-misplaced',
  'header-list-too-large',
]);

/** Octet strings as the decoder returns them: latin1, one character per octet. */
const octets = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code)), maxLength });

/** Cuts `bytes` at the given (wrapped) offsets. */
function cut(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

describe('fuzz: HPACK decoder', () => {
  it('arbitrary header blocks decode to string pairs or fail with a typed HpackError', { timeout: FUZZ_TIMEOUT_MS }, () => {
    // Blocks biased towards HPACK's own shapes: indexed fields, literals, size updates, Huffman bits.
    const block = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0x40, max: 0x7f }), fc.integer({ min: 0x20, max: 0x3f }), fc.nat(255)), { maxLength: 64 }).map((bytes) => Uint8Array.from(bytes)),
    );
    fc.assert(
      fc.property(fc.constantFrom(0, 64, 256, 4096), fc.array(block, { minLength: 1, maxLength: 6 }), (tableSize, blocks) => {
        const decoder = new HpackDecoder(tableSize, 4096);
        for (const bytes of blocks) {
          let fields: string[];
          try {
            fields = decoder.decode(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(HpackError);
            expect(HPACK_REASONS.has((error as HpackError).reason)).toBe(true);
            // RFC 9113 §4.3: after a decoding error the connection (and its table) is given up.
            return;
          }
          expect(fields.length % 2).toBe(0);
          for (const field of fields) expect(typeof field).toBe('string');
        }
      }),
      { numRuns: fuzzRuns(1500) },
    );
  });

  it('encode then decode gives the same fields, over a sequence of blocks sharing the dynamic table', { timeout: FUZZ_TIMEOUT_MS }, () => {
    const field = fc.tuple(fc.oneof(fc.constantFrom(':status', 'apns-id', 'content-type', 'x'), octets(40)), octets(120));
    const step = fc.record({
      tableSize: fc.option(fc.constantFrom(0, 32, 100, 4096), { nil: undefined }),
      fields: fc.array(field, { maxLength: 12 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), fc.boolean(), (steps, volatile) => {
        const encoder = new HpackEncoder(volatile ? { volatileNames: ['apns-id', 'x'] } : {});
        const decoder = new HpackDecoder(4096, 1 << 20);
        for (const { tableSize, fields } of steps) {
          if (tableSize !== undefined) encoder.setPeerMaxTableSize(tableSize);
          const flat = fields.flat();
          expect(decoder.decode(encoder.encode(flat))).toEqual(flat);
        }
      }),
      { numRuns: fuzzRuns(300, 0.1) },
    );
  });
});

describe('fuzz: feedback decoder', () => {
  const decodeAll = (pieces: readonly Buffer[]) => {
    const decoder = new FeedbackDecoder();
    const tuples: FeedbackTuple[] = [];
    for (const piece of pieces) tuples.push(...decoder.push(piece));
    return { tuples, finish: decoder.finish() };
  };

  it('arbitrary bytes in arbitrary chunks: never throws, the same tuples however they were cut', { timeout: FUZZ_TIMEOUT_MS }, () => {
    // Mostly well-formed lists (so tuples come out) with arbitrary bytes mixed in and appended.
    const tuple = fc.tuple(fc.nat({ max: 0xffff_ffff }), fc.uint8Array({ maxLength: 80 })).map(([time, token]) => {
      const out = Buffer.alloc(6 + token.length);
      out.writeUInt32BE(time, 0);
      out.writeUInt16BE(token.length, 4);
      out.set(token, 6);
      return out;
    });
    const bytes = fc
      .array(fc.oneof(tuple, fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b))), { maxLength: 20 })
      .map((parts) => Buffer.concat(parts));
    fc.assert(
      fc.property(bytes, fc.array(fc.nat(), { maxLength: 30 }), (all, cuts) => {
        const whole = decodeAll([all]);
        const pieces = decodeAll(cut(all, cuts));
        expect(pieces.tuples).toEqual(whole.tuples);
        expect(pieces.finish).toEqual(whole.finish);
        const decodedBytes = whole.tuples.reduce((sum, t) => sum + 6 + t.tokenLength, 0);
        expect(decodedBytes + whole.finish.remainderBytes).toBe(all.length);
        for (const t of whole.tuples) expect(t.tokenHex.length).toBe(t.tokenLength * 2);
      }),
      { numRuns: fuzzRuns(400, 0.25) },
    );
  });
});
