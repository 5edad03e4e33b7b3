import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HpackDecoder } from '../../src/http2/hpack-decoder.ts';
import { HpackError, type HpackErrorReason } from '../../src/http2/hpack-error.ts';
import { STATIC_TABLE } from '../../src/http2/hpack-static-table.ts';
import { C2_BLOCKS, SEQUENCES } from './hpack-vectors.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function reasonOf(run: () => unknown): HpackErrorReason | 'no error' {
  try {
    run();
  } catch (error) {
    if (error instanceof HpackError) return error.reason;
    throw error;
  }
  return 'no error';
}

/** The dynamic table as [name, value] pairs, newest first, read through indexed representations. */
function dynamicTable(decoder: HpackDecoder): string[][] {
  const entries: string[][] = [];
  for (let index = 62; ; index++) {
    let fields: string[];
    try {
      fields = decoder.decode(indexed(index));
    } catch (error) {
      if (error instanceof HpackError && error.reason === 'index-invalid') return entries;
      throw error;
    }
    entries.push(fields);
  }
}

/** An indexed representation of `index` (which must be below 127 + 128). */
function indexed(index: number): Buffer {
  return index < 127 ? Buffer.from([0x80 | index]) : Buffer.from([0xff, index - 127]);
}

describe('HpackDecoder: RFC 7541 Appendix C', () => {
  it('has the 61 rows of the static table (Appendix A)', () => {
    expect(STATIC_TABLE).toHaveLength(61);
    const decoder = new HpackDecoder();
    for (let index = 1; index <= 61; index++) {
      expect(decoder.decode(indexed(index))).toEqual([...STATIC_TABLE[index - 1]!]);
    }
    expect(decoder.decode(indexed(2))).toEqual([':method', 'GET']);
    expect(decoder.decode(indexed(16))).toEqual(['accept-encoding', 'gzip, deflate']);
    expect(decoder.decode(indexed(61))).toEqual(['www-authenticate', '']);
  });

  it.each(C2_BLOCKS)('$section', ({ fields, hex: encoded, tableSizeAfter }) => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex(encoded))).toEqual(fields);
    expect(dynamicTable(decoder)).toEqual(tableSizeAfter === 0 ? [] : [fields]);
  });

  it.each(SEQUENCES)('$section', ({ tableSize, blocks }) => {
    const decoder = new HpackDecoder(tableSize);
    for (const block of blocks) expect(decoder.decode(hex(block.hex))).toEqual(block.fields);
  });

  it('C.3/C.4: the table holds the three indexed fields, newest first', () => {
    for (const sequence of SEQUENCES.slice(0, 2)) {
      const decoder = new HpackDecoder(sequence.tableSize);
      for (const block of sequence.blocks) decoder.decode(hex(block.hex));
      expect(dynamicTable(decoder)).toEqual([
        ['custom-key', 'custom-value'],
        ['cache-control', 'no-cache'],
        [':authority', 'www.example.com'],
      ]);
    }
  });

  it('C.5/C.6: after the evictions the table holds exactly what the RFC lists', () => {
    for (const sequence of SEQUENCES.slice(2)) {
      const decoder = new HpackDecoder(sequence.tableSize);
      const [first, second, third] = sequence.blocks;
      decoder.decode(hex(first!.hex));
      expect(dynamicTable(decoder)).toEqual([
        ['location', 'https://www.example.com'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['cache-control', 'private'],
        [':status', '302'],
      ]);
      decoder.decode(hex(second!.hex));
      expect(dynamicTable(decoder)).toEqual([
        [':status', '307'],
        ['location', 'https://www.example.com'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['cache-control', 'private'],
      ]);
      decoder.decode(hex(third!.hex));
      expect(dynamicTable(decoder)).toEqual([
        ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
        ['content-encoding', 'gzip'],
        ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ]);
    }
  });

  it('decodes a plain Uint8Array view at an offset', () => {
    const backing = new Uint8Array([9, 9, ...hex(SEQUENCES[1]!.blocks[0]!.hex), 9]);
    const view = backing.subarray(2, backing.length - 1);
    expect(new HpackDecoder().decode(view)).toEqual(SEQUENCES[1]!.blocks[0]!.fields);
  });
});

describe('HpackDecoder: representations and the table', () => {
  it('integers (§5.1, C.1.2): 1337 on a 5-bit prefix as a table size update', () => {
    const decoder = new HpackDecoder();
    // 001 11111, 10011010, 00001010: size 1337, then :method GET.
    expect(decoder.decode(hex('3f9a0a82'))).toEqual([':method', 'GET']);
  });

  it('accepts 2^31 - 1 as an integer and refuses 2^31', () => {
    const encodeIndex = (value: number): Buffer => {
      const octets = [0xff];
      let rest = value - 127;
      while (rest >= 128) {
        octets.push((rest % 128) | 0x80);
        rest = Math.floor(rest / 128);
      }
      octets.push(rest);
      return Buffer.from(octets);
    };
    const decoder = new HpackDecoder();
    expect(reasonOf(() => decoder.decode(encodeIndex(2 ** 31 - 1)))).toBe('index-invalid');
    expect(reasonOf(() => decoder.decode(encodeIndex(2 ** 31)))).toBe('integer-overflow');
    expect(reasonOf(() => decoder.decode(encodeIndex(2 ** 40)))).toBe('integer-overflow');
  });

  it('refuses redundant continuation octets past five', () => {
    // Index 127 + 0: five zero-valued continuations then the last, six in all.
    expect(reasonOf(() => new HpackDecoder().decode(hex('ff808080808000')))).toBe('integer-overflow');
    // Five continuations are fine: 127 + 2 = 129 → past the empty dynamic table.
    expect(reasonOf(() => new HpackDecoder().decode(hex('ff8280808000')))).toBe('index-invalid');
  });

  it('refuses index 0 and indexes past the tables (§6.1)', () => {
    const decoder = new HpackDecoder();
    expect(reasonOf(() => decoder.decode(hex('80')))).toBe('index-invalid');
    expect(reasonOf(() => decoder.decode(hex('be')))).toBe('index-invalid');
    // A literal whose name index is past the tables.
    expect(reasonOf(() => decoder.decode(hex('7e0161')))).toBe('index-invalid');
    expect(reasonOf(() => decoder.decode(hex('0f2f0161')))).toBe('index-invalid');
  });

  it('refuses blocks that end inside a representation', () => {
    for (const truncated of ['ff', '40', '400a6375', '4001', '410f7777', '41', '0085f1e3', '3f']) {
      expect([truncated, reasonOf(() => new HpackDecoder().decode(hex(truncated)))]).toEqual([
        truncated,
        'truncated',
      ]);
    }
  });

  it('refuses a Huffman string with EOS or bad padding (§5.2)', () => {
    expect(reasonOf(() => new HpackDecoder().decode(hex('0084ffffffff0161')))).toBe('huffman-eos');
    expect(reasonOf(() => new HpackDecoder().decode(hex('0081ff0161')))).toBe('huffman-padding');
    expect(reasonOf(() => new HpackDecoder().decode(hex('00011f8118')))).toBe('huffman-padding');
  });

  it('applies table size updates at the start of a block, up to the advertised size (§4.2, §6.3)', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex(SEQUENCES[0]!.blocks[0]!.hex));
    expect(dynamicTable(decoder)).toHaveLength(1);
    // Two updates at the start: 0 evicts everything, then 4096 (3fe11f) allows inserting again.
    expect(decoder.decode(hex('203fe11f82'))).toEqual([':method', 'GET']);
    expect(dynamicTable(decoder)).toEqual([]);
    expect(reasonOf(() => decoder.decode(hex('3fe21f')))).toBe('table-size-too-large');
    expect(reasonOf(() => decoder.decode(hex('8220')))).toBe('table-size-update-misplaced');
  });

  it('does not insert an entry larger than the table, and empties it (§4.4)', () => {
    const decoder = new HpackDecoder(64);
    expect(decoder.decode(hex('4001610162'))).toEqual(['a', 'b']); // 34 octets: fits
    expect(dynamicTable(decoder)).toEqual([['a', 'b']]);
    const long = 'x'.repeat(40);
    expect(
      decoder.decode(Buffer.concat([hex('400161'), Buffer.from([long.length]), Buffer.from(long)])),
    ).toEqual(['a', long]);
    expect(dynamicTable(decoder)).toEqual([]);
  });

  it('resolves a name from the entry that the insertion itself evicts (§4.4)', () => {
    const decoder = new HpackDecoder(100);
    const name = 'n'.repeat(30);
    decoder.decode(Buffer.concat([hex('40'), Buffer.from([30]), Buffer.from(name), hex('00')])); // 62 octets
    // Literal with indexing, name = index 62, value 'v' × 10: 72 octets, evicts the 62-octet entry.
    expect(decoder.decode(Buffer.concat([hex('7e0a'), Buffer.from('v'.repeat(10))]))).toEqual([
      name,
      'v'.repeat(10),
    ]);
    expect(dynamicTable(decoder)).toEqual([[name, 'v'.repeat(10)]]);
  });

  it('stops a header list at maxHeaderListSize, counting 32 per field (§4.1)', () => {
    // :method GET is 7 + 3 + 32 = 42.
    expect(new HpackDecoder(4096, 84).decode(hex('8282'))).toEqual([':method', 'GET', ':method', 'GET']);
    expect(reasonOf(() => new HpackDecoder(4096, 84).decode(hex('828282')))).toBe('header-list-too-large');
  });

  it('stops a server that repeats one large entry by index (64 KiB default)', () => {
    const decoder = new HpackDecoder();
    const value = 'v'.repeat(3000);
    const insert = Buffer.concat([
      hex('4001617f'),
      Buffer.from([((3000 - 127) % 128) | 0x80, (3000 - 127) >> 7]),
    ]);
    decoder.decode(Buffer.concat([insert, Buffer.from(value)]));
    expect(decoder.decode(Buffer.alloc(21, 0xbe))).toHaveLength(42);
    expect(reasonOf(() => decoder.decode(Buffer.alloc(22, 0xbe)))).toBe('header-list-too-large');
  });

  it('throws nothing but HpackError on arbitrary bytes, across blocks of one connection', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 5 }), (blocks) => {
        const decoder = new HpackDecoder(256);
        for (const block of blocks) {
          try {
            const fields = decoder.decode(block);
            expect(fields.length % 2).toBe(0);
            for (const field of fields) expect(typeof field).toBe('string');
          } catch (error) {
            expect(error).toBeInstanceOf(HpackError);
            return;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
