import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HUFFMAN_BAD_PADDING,
  HUFFMAN_BITS,
  HUFFMAN_CODE,
  HUFFMAN_CONTAINS_EOS,
  huffmanDecode,
  huffmanEncode,
  huffmanEncodedLength,
} from '../../src/http2/hpack-huffman.ts';

function encode(s: string): Buffer {
  const out = Buffer.alloc(huffmanEncodedLength(s));
  const end = huffmanEncode(s, out, 0, out.length);
  expect(end).toBe(out.length);
  // One octet less does not fit, and nothing is written past the limit.
  if (out.length > 0) {
    const short = Buffer.alloc(out.length, 0xaa);
    expect(huffmanEncode(s, short, 0, out.length - 1)).toBe(-1);
    expect(short[out.length - 1]).toBe(0xaa);
  }
  return out;
}

/** Decodes to a latin1 string, or the negative status. */
function decode(bytes: Uint8Array): string | number {
  const out = Buffer.alloc(Math.ceil((bytes.length * 8) / 5) + 1);
  const n = huffmanDecode(bytes, 0, bytes.length, out, 0);
  return n < 0 ? n : out.toString('latin1', 0, n);
}

/** The bits of symbol `sym`'s code as a '0'/'1' string. */
function codeBits(sym: number): string {
  return HUFFMAN_CODE[sym]!.toString(2).padStart(HUFFMAN_BITS[sym]!, '0');
}

/** Packs a '0'/'1' string into octets (its length must be a multiple of 8). */
function pack(bits: string): Buffer {
  expect(bits.length % 8).toBe(0);
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return out;
}

// RFC 7541 Appendix C.4 and C.6: the Huffman-coded literals of the examples.
const RFC_STRINGS: readonly [string, string][] = [
  ['www.example.com', 'f1e3c2e5f23a6ba0ab90f4ff'],
  ['no-cache', 'a8eb10649cbf'],
  ['custom-key', '25a849e95ba97d7f'],
  ['custom-value', '25a849e95bb8e8b4bf'],
  ['302', '6402'],
  ['307', '640eff'],
  ['private', 'aec3771a4b'],
  ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07abe941054d444a8200595040b8166e082a62d1bff'],
  ['https://www.example.com', '9d29ad171863c78f0b97c8e9ae82ae43d3'],
  ['Mon, 21 Oct 2013 20:13:22 GMT', 'd07abe941054d444a8200595040b8166e084a62d1bff'],
  ['gzip', '9bd9ab'],
  [
    'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
    '94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
  ],
];

describe('HPACK Huffman code (RFC 7541 Appendix B)', () => {
  it('is the canonical code of its lengths: the transcription of Appendix B has no typo', () => {
    // Appendix B is a canonical Huffman code: ordered by (length, symbol), each code is the previous
    // one plus one, shifted left when the length grows. Two columns that agree this way agree with the RFC.
    const order = [...Array(257).keys()].sort((a, b) => HUFFMAN_BITS[a]! - HUFFMAN_BITS[b]! || a - b);
    let code = 0;
    let bits = HUFFMAN_BITS[order[0]!]!;
    for (const [i, sym] of order.entries()) {
      if (i > 0) {
        code = (code + 1) * 2 ** (HUFFMAN_BITS[sym]! - bits);
        bits = HUFFMAN_BITS[sym]!;
      }
      expect([sym, HUFFMAN_CODE[sym]]).toEqual([sym, code]);
    }
    expect(HUFFMAN_BITS[256]).toBe(30);
    expect(HUFFMAN_CODE[256]).toBe(0x3fffffff);
  });

  it.each(RFC_STRINGS)('encodes and decodes the Appendix C literal %j', (text, hex) => {
    expect(encode(text).toString('hex')).toBe(hex);
    expect(huffmanEncodedLength(text)).toBe(hex.length / 2);
    expect(decode(Buffer.from(hex, 'hex'))).toBe(text);
  });

  it('decodes the empty string', () => {
    expect(decode(Buffer.alloc(0))).toBe('');
  });

  it('rejects EOS inside a string (§5.2)', () => {
    // 'a' then EOS (30 ones) then one bit of padding: 5 + 30 + 5 = 40 bits.
    const bits = `${codeBits(97)}${codeBits(256)}11111`;
    expect(decode(pack(bits))).toBe(HUFFMAN_CONTAINS_EOS);
    // EOS alone, padded: 30 + 2 bits.
    expect(decode(pack(`${codeBits(256)}11`))).toBe(HUFFMAN_CONTAINS_EOS);
  });

  it('rejects padding longer than 7 bits (§5.2)', () => {
    // 'a' (00011) + 3 ones pads to one octet; a further 0xff octet makes 11 bits of padding.
    expect(decode(pack(`${codeBits(97)}111`))).toBe('a');
    expect(decode(pack(`${codeBits(97)}111` + '11111111'))).toBe(HUFFMAN_BAD_PADDING);
    expect(decode(Buffer.from([0xff]))).toBe(HUFFMAN_BAD_PADDING);
  });

  it('rejects padding that is not the most significant bits of EOS (§5.2)', () => {
    expect(decode(pack(`${codeBits(97)}110`))).toBe(HUFFMAN_BAD_PADDING);
    expect(decode(pack(`${codeBits(97)}000`))).toBe(HUFFMAN_BAD_PADDING);
  });

  it('round-trips every octet string, and its length function is exact', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (octets) => {
        const text = Buffer.from(octets).toString('latin1');
        const coded = encode(text);
        expect(coded.length).toBe(huffmanEncodedLength(text));
        expect(decode(coded)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes at an offset and leaves the output before it alone', () => {
    const coded = encode('apns-id');
    const src = Buffer.concat([Buffer.from([1, 2, 3]), coded, Buffer.from([4])]);
    const out = Buffer.alloc(32, 0xaa);
    const end = huffmanDecode(src, 3, 3 + coded.length, out, 5);
    expect(out.toString('latin1', 5, end)).toBe('apns-id');
    expect(out[4]).toBe(0xaa);
  });

  it('never reads outside its input and reports any failure as a status', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (octets) => {
        const result = decode(octets);
        if (typeof result === 'number') expect([HUFFMAN_CONTAINS_EOS, HUFFMAN_BAD_PADDING]).toContain(result);
        else expect(encode(result).equals(Buffer.from(octets))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
