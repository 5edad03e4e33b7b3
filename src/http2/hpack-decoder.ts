/**
 * HPACK decoder (RFC 7541) for the header blocks an APNs server sends us: one per response.
 *
 * The dynamic table is a ring of names and values addressed by insertion count, so inserting and
 * evicting move no entries. Strings are octets and come out as latin1 strings: one character per
 * octet, so a string's length is its size in the §4.1 sense.
 */
import { HpackError } from './hpack-error.ts';
import { HUFFMAN_BAD_PADDING, HUFFMAN_CONTAINS_EOS, huffmanDecode } from './hpack-huffman.ts';
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from './hpack-static-table.ts';

/** SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;
/** What we accept in one response: APNs answers carry a few short fields. */
const DEFAULT_MAX_HEADER_LIST_SIZE = 64 * 1024;
/** §4.1: an entry's size is its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;
/** Integers above this are refused (§5.1 leaves the limit to the implementation). */
const MAX_INTEGER = 2 ** 31 - 1;
/** Continuation octets after the prefix: 5 × 7 bits cover MAX_INTEGER. */
const MAX_CONTINUATION_OCTETS = 5;

const EMPTY: Buffer = Buffer.alloc(0);
const STATIC_NAMES: readonly string[] = STATIC_TABLE.map(([name]) => name);
const STATIC_VALUES: readonly string[] = STATIC_TABLE.map(([, value]) => value);

export class HpackDecoder {
  readonly #maxTableSize: number;
  readonly #maxHeaderListSize: number;
  /** The table size the peer's encoder last set (§4.2), at most `#maxTableSize`. */
  #tableSizeLimit: number;
  #tableSize = 0;
  // The ring: the entry inserted n-th (from 0) lives at slot n & #mask; the newest is index 62.
  readonly #names: string[];
  readonly #values: string[];
  readonly #mask: number;
  #inserted = 0;
  #count = 0;

  // Per-decode cursor, kept on the instance so reading an integer returns just the number.
  #block: Buffer = EMPTY;
  #pos = 0;
  /** Where Huffman strings are decoded before becoming JS strings; grows as needed. */
  #scratch: Buffer = Buffer.allocUnsafe(256);

  /**
   * `maxTableSize`: what we advertise as SETTINGS_HEADER_TABLE_SIZE (default 4096).
   * `maxHeaderListSize`: the largest decoded header list accepted (§4.1 sizes, default 64 KiB).
   */
  constructor(
    maxTableSize: number = DEFAULT_TABLE_SIZE,
    maxHeaderListSize: number = DEFAULT_MAX_HEADER_LIST_SIZE,
  ) {
    this.#maxTableSize = maxTableSize;
    this.#maxHeaderListSize = maxHeaderListSize;
    this.#tableSizeLimit = maxTableSize;
    // At most maxTableSize / 32 entries fit (an entry is at least 32); round the ring up to 2^k.
    let capacity = 1;
    while (capacity < Math.floor(maxTableSize / ENTRY_OVERHEAD)) capacity *= 2;
    this.#names = new Array<string>(capacity).fill('');
    this.#values = new Array<string>(capacity).fill('');
    this.#mask = capacity - 1;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION fragments concatenated) into
   * [name0, value0, name1, value1, ...]. Throws HpackError on malformed input; the table is then
   * unusable, which is why RFC 9113 §4.3 closes the connection.
   */
  decode(block: Uint8Array): string[] {
    this.#block = Buffer.isBuffer(block)
      ? block
      : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.#pos = 0;
    const fields: string[] = [];
    let listSize = 0;
    const end = this.#block.length;
    try {
      while (this.#pos < end) {
        const first = this.#block[this.#pos]!;
        let name: string;
        let value: string;
        if (first >= 0x80) {
          // §6.1 Indexed Header Field.
          const index = this.#readInteger(7);
          if (index === 0) throw new HpackError('index-invalid', 'Indexed header field with index 0');
          if (index <= STATIC_TABLE_LENGTH) {
            name = STATIC_NAMES[index - 1]!;
            value = STATIC_VALUES[index - 1]!;
          } else {
            const slot = this.#dynamicSlot(index);
            name = this.#names[slot]!;
            value = this.#values[slot]!;
          }
        } else if (first >= 0x40) {
          // §6.2.1 Literal Header Field with Incremental Indexing.
          name = this.#readName(6);
          value = this.#readString();
          this.#insert(name, value);
        } else if (first >= 0x20) {
          // §6.3 Dynamic Table Size Update: only before the first field (§4.2).
          if (fields.length > 0) {
            throw new HpackError('table-size-update-misplaced', 'Dynamic table size update after a field');
          }
          const size = this.#readInteger(5);
          if (size > this.#maxTableSize) {
            throw new HpackError(
              'table-size-too-large',
              `Dynamic table size ${size} > ${this.#maxTableSize}`,
            );
          }
          this.#tableSizeLimit = size;
          this.#evictTo(size);
          continue;
        } else {
          // §6.2.2 without indexing (0000) and §6.2.3 never indexed (0001): same layout.
          name = this.#readName(4);
          value = this.#readString();
        }
        listSize += name.length + value.length + ENTRY_OVERHEAD;
        if (listSize > this.#maxHeaderListSize) {
          throw new HpackError(
            'header-list-too-large',
            `Header list exceeds ${this.#maxHeaderListSize} octets`,
          );
        }
        fields.push(name, value);
      }
    } finally {
      this.#block = EMPTY;
    }
    return fields;
  }

  /** §5.1: an integer whose prefix is the low `prefixBits` of the current octet. */
  #readInteger(prefixBits: number): number {
    const block = this.#block;
    const max = (1 << prefixBits) - 1;
    let value = block[this.#pos++]! & max;
    if (value < max) return value;
    let factor = 1;
    for (let i = 0; i < MAX_CONTINUATION_OCTETS; i++) {
      if (this.#pos >= block.length) throw new HpackError('truncated', 'Header block ends inside an integer');
      const octet = block[this.#pos++]!;
      value += (octet & 0x7f) * factor;
      if (value > MAX_INTEGER) throw new HpackError('integer-overflow', 'Integer exceeds 2^31 - 1');
      if (octet < 0x80) return value;
      factor *= 128;
    }
    throw new HpackError('integer-overflow', 'Integer has too many continuation octets');
  }

  /** A name given by index (`prefixBits` prefix, non-zero) or, when the index is 0, as a literal. */
  #readName(prefixBits: number): string {
    const index = this.#readInteger(prefixBits);
    if (index === 0) return this.#readString();
    if (index <= STATIC_TABLE_LENGTH) return STATIC_NAMES[index - 1]!;
    return this.#names[this.#dynamicSlot(index)]!;
  }

  /** §5.2 String Literal: H bit, 7-bit prefix length, octets (Huffman-coded when H is set). */
  #readString(): string {
    const block = this.#block;
    if (this.#pos >= block.length) throw new HpackError('truncated', 'Header block ends before a string');
    const huffman = block[this.#pos]! >= 0x80;
    const length = this.#readInteger(7);
    const start = this.#pos;
    const end = start + length;
    if (end > block.length) throw new HpackError('truncated', 'Header block ends inside a string');
    this.#pos = end;
    if (length === 0) return '';
    if (!huffman) return block.toString('latin1', start, end);
    // No symbol is shorter than 5 bits: `length` octets decode to at most length * 8 / 5 (+1: see
    // huffmanDecode).
    const bound = Math.ceil((length * 8) / 5) + 1;
    if (this.#scratch.length < bound)
      this.#scratch = Buffer.allocUnsafe(Math.max(bound, this.#scratch.length * 2));
    const n = huffmanDecode(block, start, end, this.#scratch, 0);
    if (n === HUFFMAN_CONTAINS_EOS) throw new HpackError('huffman-eos', 'Huffman string contains EOS');
    if (n === HUFFMAN_BAD_PADDING)
      throw new HpackError('huffman-padding', 'Huffman string has invalid padding');
    return this.#scratch.toString('latin1', 0, n);
  }

  /** The ring slot of dynamic index `index` (> 61), or HpackError when there is no such entry. */
  #dynamicSlot(index: number): number {
    const age = index - STATIC_TABLE_LENGTH - 1;
    if (age >= this.#count) throw new HpackError('index-invalid', `Index ${index} is past the dynamic table`);
    return (this.#inserted - 1 - age) & this.#mask;
  }

  /** §4.4: make room by evicting the oldest entries, then add; an entry larger than the table empties it. */
  #insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#tableSizeLimit) {
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#tableSizeLimit - size);
    const slot = this.#inserted & this.#mask;
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.#inserted++;
    this.#count++;
    this.#tableSize += size;
  }

  /** §4.4: evict the oldest entries until the table takes at most `size`. */
  #evictTo(size: number): void {
    while (this.#tableSize > size) {
      const slot = (this.#inserted - this.#count) & this.#mask;
      this.#tableSize -= this.#names[slot]!.length + this.#values[slot]!.length + ENTRY_OVERHEAD;
      // Drop the references so evicted strings can be collected.
      this.#names[slot] = '';
      this.#values[slot] = '';
      this.#count--;
    }
  }
}
