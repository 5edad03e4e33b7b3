import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HpackDecoder } from '../../src/http2/hpack-decoder.ts';
import { HpackEncoder } from '../../src/http2/hpack-encoder.ts';
import { HpackError } from '../../src/http2/hpack-error.ts';
import { huffmanEncodedLength } from '../../src/http2/hpack-huffman.ts';
import { C2_BLOCKS, SEQUENCES } from './hpack-vectors.ts';

const APNS_VOLATILE = [':path', 'apns-id', 'apns-expiration', 'apns-collapse-id'];

/** A Dynamic Table Size Update (§6.3) to 256: 001 11111, then 256 - 31 = 225 as 0xe1 0x01. */
const SIZE_UPDATE_256 = '3fe101';

function apnsRequest(deviceHex: string, apnsId: string, jwt: string): string[] {
  return [
    ':method',
    'POST',
    ':scheme',
    'https',
    ':authority',
    'api.push.apple.com',
    ':path',
    `/3/device/${deviceHex}`,
    'authorization',
    `bearer ${jwt}`,
    'apns-topic',
    'com.example.app',
    'apns-push-type',
    'alert',
    'apns-priority',
    '10',
    'apns-id',
    apnsId,
  ];
}

describe('HpackEncoder: RFC 7541 Appendix C where our choices are the RFC’s', () => {
  it('C.2.1, C.2.2, C.2.4 (raw strings; :path volatile)', () => {
    for (const { fields, hex } of C2_BLOCKS.filter((b) => !b.section.startsWith('C.2.3'))) {
      const encoder = new HpackEncoder({ volatileNames: [':path'], huffman: false });
      expect(encoder.encode(fields).toString('hex')).toBe(hex);
    }
  });

  it('C.3 requests without Huffman', () => {
    const encoder = new HpackEncoder({ huffman: false });
    for (const block of SEQUENCES[0]!.blocks)
      expect(encoder.encode(block.fields).toString('hex')).toBe(block.hex);
  });

  it('C.4 requests with Huffman (every literal is shorter coded)', () => {
    const encoder = new HpackEncoder();
    for (const block of SEQUENCES[1]!.blocks)
      expect(encoder.encode(block.fields).toString('hex')).toBe(block.hex);
  });

  it('C.5 responses without Huffman, table 256: the first block announces the size', () => {
    const encoder = new HpackEncoder({ huffman: false });
    encoder.setPeerMaxTableSize(256);
    const [first, second, third] = SEQUENCES[2]!.blocks;
    expect(encoder.encode(first!.fields).toString('hex')).toBe(SIZE_UPDATE_256 + first!.hex);
    expect(encoder.encode(second!.fields).toString('hex')).toBe(second!.hex);
    expect(encoder.encode(third!.fields).toString('hex')).toBe(third!.hex);
  });

  it('C.6 responses with Huffman, table 256; "307" stays raw (3 octets either way)', () => {
    const encoder = new HpackEncoder();
    encoder.setPeerMaxTableSize(256);
    const [first, , third] = SEQUENCES[3]!.blocks;
    expect(encoder.encode(first!.fields).toString('hex')).toBe(SIZE_UPDATE_256 + first!.hex);
    // The RFC Huffman-codes "307" (640eff); a tie is sent raw, as in C.5.2.
    expect(encoder.encode(SEQUENCES[3]!.blocks[1]!.fields).toString('hex')).toBe(
      SEQUENCES[2]!.blocks[1]!.hex,
    );
    expect(encoder.encode(third!.fields).toString('hex')).toBe(third!.hex);
  });
});

describe('HpackEncoder: APNs requests', () => {
  const jwt =
    'eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQzEyM0RFRkcifQ.eyJpc3MiOiJERUYxMjNHSElKIiwiaWF0IjoxNzAwMDAwMDAwfQ.sig';

  it.each([
    { huffmanVolatileValues: false, pathOctets: (path: string) => path.length, hBit: 0 },
    { huffmanVolatileValues: true, pathOctets: huffmanEncodedLength, hBit: 0x80 },
  ])(
    'indexes repeating fields once, sends volatile ones as literals (Huffman on them: $huffmanVolatileValues)',
    ({ huffmanVolatileValues, pathOctets, hBit }) => {
      const encoder = new HpackEncoder({ volatileNames: APNS_VOLATILE, huffmanVolatileValues });
      const decoder = new HpackDecoder();
      const first = apnsRequest('ab'.repeat(32), '11111111-2222-3333-4444-555555555555', jwt);
      const second = apnsRequest('cd'.repeat(32), '66666666-7777-8888-9999-000000000000', jwt);
      const block1 = encoder.encode(first);
      const block2 = encoder.encode(second);
      expect(decoder.decode(block1)).toEqual(first);
      expect(decoder.decode(block2)).toEqual(second);

      // Second block: :method and :scheme from the static table, :authority from the dynamic one,
      // :path as a literal with static name 4 (0x04), four dynamic indexes, then apns-id with a
      // literal name (0x00, the name Huffman-coded as any name is).
      expect([...block2.subarray(0, 2)]).toEqual([0x83, 0x87]);
      expect(block2[2]).toBeGreaterThanOrEqual(0x80 + 62);
      expect(block2[3]).toBe(0x04);
      expect(block2[4]).toBe(hBit | pathOctets(second[7]!));
      const afterPath = 5 + pathOctets(second[7]!);
      for (const octet of block2.subarray(afterPath, afterPath + 4))
        expect(octet).toBeGreaterThanOrEqual(0x80 + 62);
      expect(block2[afterPath + 4]).toBe(0x00);
      expect(block2[afterPath + 5]).toBe(0x80 | huffmanEncodedLength('apns-id'));
      const apnsId = 2 + huffmanEncodedLength('apns-id') + 1 + pathOctets(second[17]!);
      expect(block2.length).toBe(afterPath + 4 + apnsId);
    },
  );

  it('never inserts a volatile field, even when it repeats', () => {
    const encoder = new HpackEncoder({ volatileNames: ['apns-id'] });
    const fields = ['apns-id', '11111111-2222-3333-4444-555555555555'];
    expect(encoder.encode(fields).toString('hex')).toBe(encoder.encode(fields).toString('hex'));
    expect(encoder.encode(fields)[0]).toBe(0x00);
  });

  it('sends a field whose entry cannot fit the table without indexing (§4.4)', () => {
    const encoder = new HpackEncoder({ huffman: false });
    const decoder = new HpackDecoder();
    const big = ['x-big', 'v'.repeat(4096)];
    const block = encoder.encode(big);
    expect(block[0]).toBe(0x00);
    expect(decoder.decode(block)).toEqual(big);
    expect(encoder.encode(big)[0]).toBe(0x00);
  });

  it('reuses a dynamic name for a new value of a non-volatile field', () => {
    const encoder = new HpackEncoder({ huffman: false });
    const decoder = new HpackDecoder();
    const one = ['apns-topic', 'com.example.one'];
    const two = ['apns-topic', 'com.example.two'];
    expect(decoder.decode(encoder.encode(one))).toEqual(one);
    const block = encoder.encode(two);
    expect(block[0]).toBe(0x40 | 62); // literal with indexing, name = index 62
    expect(decoder.decode(block)).toEqual(two);
    expect(encoder.encode(one)[0]).toBe(0x80 | 63);
  });
});

describe('HpackEncoder: peer table size (§4.2, §6.3)', () => {
  const fields = ['apns-topic', 'com.example.app'];

  it('announces nothing when the size does not change, or rises above what it uses (4096)', () => {
    const encoder = new HpackEncoder({ huffman: false });
    encoder.setPeerMaxTableSize(4096);
    expect(encoder.encode(fields)[0]).toBe(0x40 | 0x00);
    encoder.setPeerMaxTableSize(65536);
    expect(encoder.encode(fields)).toEqual(Buffer.from([0x80 | 62]));
  });

  it('lowered then raised before a block: the minimum first, then the final size', () => {
    const encoder = new HpackEncoder({ huffman: false });
    const decoder = new HpackDecoder();
    decoder.decode(encoder.encode(fields));
    encoder.setPeerMaxTableSize(10);
    encoder.setPeerMaxTableSize(4000);
    encoder.setPeerMaxTableSize(4096);
    const block = encoder.encode(fields);
    // 10 fits the prefix (0x2a); 4096 is 3f e1 1f; then the field again as a new literal.
    expect(block.subarray(0, 4).toString('hex')).toBe('2a3fe11f');
    expect(block[4]).toBe(0x40);
    expect(decoder.decode(block)).toEqual(fields);
    expect(encoder.encode(fields)).toEqual(Buffer.from([0x80 | 62]));
  });

  it('size 0: an update, then nothing is inserted until it rises', () => {
    const encoder = new HpackEncoder({ huffman: false });
    encoder.setPeerMaxTableSize(0);
    const block = encoder.encode(fields);
    expect(block.subarray(0, 2)).toEqual(Buffer.from([0x20, 0x00]));
    expect(encoder.encode(fields)[0]).toBe(0x00);
    encoder.setPeerMaxTableSize(512);
    expect(encoder.encode(fields).subarray(0, 4).toString('hex')).toBe('3fe10340');
  });

  it('a lower final size evicts the oldest entries first', () => {
    const encoder = new HpackEncoder({ huffman: false });
    const decoder = new HpackDecoder();
    const a = ['x-a', 'a'.repeat(50)]; // 85 octets
    const b = ['x-b', 'b'.repeat(50)];
    decoder.decode(encoder.encode([...a, ...b]));
    encoder.setPeerMaxTableSize(100);
    const block = encoder.encode([...b, ...a]);
    expect(block.subarray(0, 3).toString('hex')).toBe('3f45be'); // 100 = 31 + 69; b indexed as 62
    expect(decoder.decode(block)).toEqual([...b, ...a]);
  });
});

// --- properties ------------------------------------------------------------------------------------

const NAMES = [
  ':method',
  ':path',
  ':authority',
  'authorization',
  'apns-id',
  'apns-topic',
  'apns-expiration',
  'content-type',
  'cache-control',
  'x-custom',
];
const nameArb = fc.oneof(fc.constantFrom(...NAMES), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/));
const valueArb = fc.oneof(
  fc.constantFrom('', 'GET', 'POST', '/', '200', 'gzip, deflate', 'application/json'),
  fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x00-\xff]/g, '?')),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
);
const fieldsArb = fc.array(fc.tuple(nameArb, valueArb), { maxLength: 12 }).map((pairs) => pairs.flat());
const stepArb = fc.record({
  sizeChanges: fc.array(fc.integer({ min: 0, max: 8192 }), { maxLength: 3 }),
  fields: fieldsArb,
});
const optionsArb = fc.record({
  volatileNames: fc.subarray(NAMES),
  huffman: fc.boolean(),
  huffmanVolatileValues: fc.boolean(),
});

describe('HpackEncoder → HpackDecoder', () => {
  it('round-trips random header lists with table size changes between blocks', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(stepArb, { maxLength: 12 }), (options, steps) => {
        const encoder = new HpackEncoder(options);
        const decoder = new HpackDecoder(4096, 1 << 30);
        for (const { sizeChanges, fields } of steps) {
          for (const size of sizeChanges) encoder.setPeerMaxTableSize(size);
          expect(decoder.decode(encoder.encode(fields))).toEqual(fields);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a corrupted block makes the decoder throw HpackError or decode something, nothing else', () => {
    fc.assert(
      fc.property(
        fc.array(fieldsArb, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (lists, at, flip) => {
          const encoder = new HpackEncoder({ volatileNames: [':path'] });
          const decoder = new HpackDecoder();
          const blocks = lists.map((fields) => encoder.encode(fields));
          const last = blocks.pop()!;
          for (const block of blocks) decoder.decode(block);
          if (last.length === 0) return;
          last[at % last.length] = last[at % last.length]! ^ flip;
          try {
            decoder.decode(last);
          } catch (error) {
            expect(error).toBeInstanceOf(HpackError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('grows its scratch buffer for large fields', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder(4096, 1 << 30);
    const fields = ['x-large', 'q'.repeat(100_000), 'x-other', '\u00ff'.repeat(5000)];
    expect(decoder.decode(encoder.encode(fields))).toEqual(fields);
    expect(decoder.decode(encoder.encode([':method', 'GET']))).toEqual([':method', 'GET']);
  });
});
