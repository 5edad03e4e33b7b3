/**
 * HPACK encoder (RFC 7541) for our requests to APNs: one header block per notification.
 *
 * Fields that repeat on every request (:authority, authorization, apns-topic, ...) go into the
 * dynamic table once and cost one octet afterwards; fields whose value is new on every request
 * (`volatileNames`: :path, apns-id, ...) are sent without indexing so they never push the repeating
 * ones out. The encoder keeps an exact model of the peer decoder's table to compute indexes.
 * Strings are Huffman-coded when that makes them shorter, except the values of volatile fields
 * (see `huffmanVolatileValues` for the measurement behind that).
 *
 * Strings are octets: names and values are written as latin1, one octet per UTF-16 code unit, and
 * a unit above 0xff would lose its high byte. Callers pass octet strings: APNs fields are ASCII
 * except apns-collapse-id, which Apple counts in UTF-8 bytes and which must therefore be passed as
 * its UTF-8 octets (`Buffer.from(id, 'utf8').toString('latin1')`) when it is not ASCII.
 */
import { huffmanEncode, huffmanEncodedLength } from './hpack-huffman.ts';
import { STATIC_TABLE_BY_NAME, STATIC_TABLE_LENGTH } from './hpack-static-table.ts';

/**
 * The most dynamic table we use, whatever the peer allows. A peer may advertise more (up to 2^32 - 1)
 * and an encoder may use less (§4.2); our repeating fields take well under 1 KiB, and the bound keeps
 * the ring small and fixed. It is also the protocol's initial size, so raising needs no signal.
 */
const MAX_TABLE_SIZE = 4096;
/** §4.1: an entry's size is its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;
/** Room for one field's octets besides its strings: a first octet and three integers of ≤ 6 octets. */
const FIELD_OVERHEAD_BOUND = 1 + 3 * 6;
/** Below this length a charCodeAt loop beats Buffer#write's call into C++ (measured: ~16). */
const SHORT_STRING = 16;

export interface HpackEncoderOptions {
  /**
   * Header names whose values change per request: always encoded as "literal without indexing"
   * (name by index when it is in the static table) so they never churn the dynamic table.
   */
  readonly volatileNames?: Iterable<string>;
  /** Huffman-code a string when that makes it shorter (default true); false sends all strings raw. */
  readonly huffman?: boolean;
  /**
   * Try Huffman on the values of volatile fields too (default false). They are the only strings
   * coded on every request. Measured on a typical APNs request (64-hex :path, UUID apns-id, warm
   * table): coding them shrinks the block from 127 to ~96 octets but takes `encode` from ~0.55 to
   * ~1 µs, more CPU than 31 octets save in TLS and socket work. Every other string is coded once,
   * when it enters the dynamic table.
   */
  readonly huffmanVolatileValues?: boolean;
}

export class HpackEncoder {
  readonly #volatileNames: ReadonlySet<string>;
  readonly #huffman: boolean;
  readonly #huffmanVolatileValues: boolean;

  /** The table size the peer's decoder knows (initially the protocol's 4096, RFC 9113 §6.5.2). */
  #tableSizeLimit = MAX_TABLE_SIZE;
  #tableSize = 0;
  // The ring: the entry inserted n-th (from 0) lives at slot n & MASK; the newest is index 62.
  readonly #names: string[] = new Array<string>(MAX_TABLE_SIZE / ENTRY_OVERHEAD).fill('');
  readonly #values: string[] = new Array<string>(MAX_TABLE_SIZE / ENTRY_OVERHEAD).fill('');
  #inserted = 0;
  #count = 0;
  /** name → value → insertion number of the newest entry with that name and value. */
  readonly #byName = new Map<string, Map<string, number>>();

  // Size changes since the last block (§4.2): the smallest and the last one.
  #sizeChangePending = false;
  #smallestNewSize = 0;
  #lastNewSize = 0;

  #scratch: Buffer = Buffer.allocUnsafe(1024);
  #pos = 0;

  constructor(options: HpackEncoderOptions = {}) {
    this.#volatileNames = new Set(options.volatileNames ?? []);
    this.#huffman = options.huffman ?? true;
    this.#huffmanVolatileValues = this.#huffman && (options.huffmanVolatileValues ?? false);
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE changed. The next block starts with Dynamic Table Size
   * Updates (§6.3): the smallest size since the last block, then the final one, so the peer evicts
   * what a temporarily lower limit evicted for us too (§4.2).
   */
  setPeerMaxTableSize(size: number): void {
    const newSize = Math.min(size, MAX_TABLE_SIZE);
    if (!this.#sizeChangePending) {
      this.#sizeChangePending = true;
      this.#smallestNewSize = newSize;
    } else if (newSize < this.#smallestNewSize) {
      this.#smallestNewSize = newSize;
    }
    this.#lastNewSize = newSize;
  }

  /**
   * fields: flat [name, value, ...]. Returns the header block fragment, after `headroom` octets and
   * before `tailroom` octets left for the caller (a frame header, the request's DATA frame): one
   * buffer per request instead of three.
   */
  encode(fields: readonly string[], headroom = 0, tailroom = 0): Buffer {
    this.#pos = 0;
    if (this.#sizeChangePending) this.#writeSizeUpdates();
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      this.#reserve(name.length + value.length + FIELD_OVERHEAD_BOUND);

      const inStatic = STATIC_TABLE_BY_NAME.get(name);
      if (this.#volatileNames.has(name)) {
        // §6.2.2 Literal Header Field without Indexing, not even looked up: a value that is new on
        // every request would only cost its hashing. Never inserted, so never in the dynamic table.
        const nameIndex = inStatic === undefined ? 0 : inStatic.nameIndex;
        this.#writeLiteral(0x00, 4, nameIndex, name, value, this.#huffmanVolatileValues);
        continue;
      }
      if (inStatic !== undefined) {
        const index = inStatic.valueIndexes.get(value);
        if (index !== undefined) {
          this.#writeInteger(0x80, 7, index); // §6.1 Indexed Header Field
          continue;
        }
      }
      const inDynamic = this.#byName.get(name);
      let nameIndex = inStatic === undefined ? 0 : inStatic.nameIndex;
      if (inDynamic !== undefined) {
        const inserted = inDynamic.get(value);
        if (inserted !== undefined) {
          this.#writeInteger(0x80, 7, this.#indexOf(inserted));
          continue;
        }
        if (nameIndex === 0) {
          for (const other of inDynamic.values()) {
            nameIndex = this.#indexOf(other);
            break;
          }
        }
      }
      const size = name.length + value.length + ENTRY_OVERHEAD;
      if (size <= this.#tableSizeLimit) {
        // §6.2.1 with Incremental Indexing. The name index was taken before the insertion, which may
        // evict that very entry; the decoder reads the name first too (§4.4).
        this.#writeLiteral(0x40, 6, nameIndex, name, value, this.#huffman);
        this.#insert(name, value, size);
      } else {
        this.#writeLiteral(0x00, 4, nameIndex, name, value, this.#huffman);
      }
    }
    const block = Buffer.allocUnsafe(headroom + this.#pos + tailroom);
    this.#scratch.copy(block, headroom, 0, this.#pos);
    return block;
  }

  /** §6.3 at the start of the block, and the same evictions the peer will make. */
  #writeSizeUpdates(): void {
    this.#sizeChangePending = false;
    const smallest = this.#smallestNewSize;
    const last = this.#lastNewSize;
    if (smallest === last && last === this.#tableSizeLimit) return;
    this.#reserve(2 * 6);
    if (smallest < last) {
      this.#writeInteger(0x20, 5, smallest);
      this.#evictTo(smallest);
    }
    this.#writeInteger(0x20, 5, last);
    this.#evictTo(last);
    this.#tableSizeLimit = last;
  }

  /** The index (§2.3.3) of the entry inserted `inserted`-th: the newest is 62. */
  #indexOf(inserted: number): number {
    return STATIC_TABLE_LENGTH + this.#inserted - inserted;
  }

  /** §4.4: make room by evicting the oldest entries, then add (the caller checked that it fits). */
  #insert(name: string, value: string, size: number): void {
    this.#evictTo(this.#tableSizeLimit - size);
    const slot = this.#inserted & (this.#names.length - 1);
    this.#names[slot] = name;
    this.#values[slot] = value;
    let byValue = this.#byName.get(name);
    if (byValue === undefined) {
      byValue = new Map();
      this.#byName.set(name, byValue);
    }
    byValue.set(value, this.#inserted);
    this.#inserted++;
    this.#count++;
    this.#tableSize += size;
  }

  /** §4.4: evict the oldest entries until the table takes at most `size`. */
  #evictTo(size: number): void {
    while (this.#tableSize > size) {
      const oldest = this.#inserted - this.#count;
      const slot = oldest & (this.#names.length - 1);
      const name = this.#names[slot]!;
      const value = this.#values[slot]!;
      this.#tableSize -= name.length + value.length + ENTRY_OVERHEAD;
      // A field is in the table at most once: an exact match is sent indexed, never inserted again.
      const byValue = this.#byName.get(name)!;
      byValue.delete(value);
      if (byValue.size === 0) this.#byName.delete(name);
      this.#names[slot] = '';
      this.#values[slot] = '';
      this.#count--;
    }
  }

  /** A literal field: first octet `flags` with the name index in a `prefixBits` prefix, 0 = literal name. */
  #writeLiteral(
    flags: number,
    prefixBits: number,
    nameIndex: number,
    name: string,
    value: string,
    huffmanValue: boolean,
  ): void {
    this.#writeInteger(flags, prefixBits, nameIndex);
    if (nameIndex === 0) this.#writeString(name, this.#huffman);
    this.#writeString(value, huffmanValue);
  }

  /** §5.2: Huffman-coded when `huffman` and that is shorter, else raw octets. */
  #writeString(s: string, huffman: boolean): void {
    const length = s.length;
    if (huffman && length > 0) {
      if (length < 0x7f) {
        // The coded length will fit the one-octet prefix: code straight after it, into at most
        // length - 1 octets (the space the raw string was reserved), and keep it if it fits.
        const start = this.#pos + 1;
        const end = huffmanEncode(s, this.#scratch, start, start + length - 1);
        if (end >= 0) {
          this.#scratch[this.#pos] = 0x80 | (end - start);
          this.#pos = end;
          return;
        }
      } else {
        const coded = huffmanEncodedLength(s);
        if (coded < length) {
          this.#writeInteger(0x80, 7, coded);
          this.#pos = huffmanEncode(s, this.#scratch, this.#pos, this.#pos + coded);
          return;
        }
      }
    }
    this.#writeInteger(0x00, 7, length);
    const scratch = this.#scratch;
    let pos = this.#pos;
    if (length < SHORT_STRING) {
      for (let i = 0; i < length; i++) scratch[pos++] = s.charCodeAt(i);
    } else {
      pos += scratch.write(s, pos, 'latin1');
    }
    this.#pos = pos;
  }

  /** §5.1: `value` in a `prefixBits` prefix of an octet whose high bits are `flags`. */
  #writeInteger(flags: number, prefixBits: number, value: number): void {
    const scratch = this.#scratch;
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      scratch[this.#pos++] = flags | value;
      return;
    }
    scratch[this.#pos++] = flags | max;
    let rest = value - max;
    while (rest >= 0x80) {
      scratch[this.#pos++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    scratch[this.#pos++] = rest;
  }

  /** Makes room for `octets` more in the scratch buffer (copying what is written so far). */
  #reserve(octets: number): void {
    const needed = this.#pos + octets;
    if (needed <= this.#scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.#scratch.length * 2));
    this.#scratch.copy(grown, 0, 0, this.#pos);
    this.#scratch = grown;
  }
}
