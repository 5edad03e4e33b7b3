/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B): an encoder, its length function, and a
 * decoder that reads four bits per step through a state table built once from the code.
 *
 * Strings are octets: the encoder reads each UTF-16 unit's low byte, as a latin1 write would.
 */

// biome-ignore format: one row per four symbols, code then bit length, as Appendix B lists them
const APPENDIX_B: readonly number[] = [
  /*   0 */ 0x1ff8, 13, 0x7fffd8, 23, 0xfffffe2, 28, 0xfffffe3, 28,
  /*   4 */ 0xfffffe4, 28, 0xfffffe5, 28, 0xfffffe6, 28, 0xfffffe7, 28,
  /*   8 */ 0xfffffe8, 28, 0xffffea, 24, 0x3ffffffc, 30, 0xfffffe9, 28,
  /*  12 */ 0xfffffea, 28, 0x3ffffffd, 30, 0xfffffeb, 28, 0xfffffec, 28,
  /*  16 */ 0xfffffed, 28, 0xfffffee, 28, 0xfffffef, 28, 0xffffff0, 28,
  /*  20 */ 0xffffff1, 28, 0xffffff2, 28, 0x3ffffffe, 30, 0xffffff3, 28,
  /*  24 */ 0xffffff4, 28, 0xffffff5, 28, 0xffffff6, 28, 0xffffff7, 28,
  /*  28 */ 0xffffff8, 28, 0xffffff9, 28, 0xffffffa, 28, 0xffffffb, 28,
  /*  32 */ 0x14, 6, 0x3f8, 10, 0x3f9, 10, 0xffa, 12,
  /*  36 */ 0x1ff9, 13, 0x15, 6, 0xf8, 8, 0x7fa, 11,
  /*  40 */ 0x3fa, 10, 0x3fb, 10, 0xf9, 8, 0x7fb, 11,
  /*  44 */ 0xfa, 8, 0x16, 6, 0x17, 6, 0x18, 6,
  /*  48 */ 0x0, 5, 0x1, 5, 0x2, 5, 0x19, 6,
  /*  52 */ 0x1a, 6, 0x1b, 6, 0x1c, 6, 0x1d, 6,
  /*  56 */ 0x1e, 6, 0x1f, 6, 0x5c, 7, 0xfb, 8,
  /*  60 */ 0x7ffc, 15, 0x20, 6, 0xffb, 12, 0x3fc, 10,
  /*  64 */ 0x1ffa, 13, 0x21, 6, 0x5d, 7, 0x5e, 7,
  /*  68 */ 0x5f, 7, 0x60, 7, 0x61, 7, 0x62, 7,
  /*  72 */ 0x63, 7, 0x64, 7, 0x65, 7, 0x66, 7,
  /*  76 */ 0x67, 7, 0x68, 7, 0x69, 7, 0x6a, 7,
  /*  80 */ 0x6b, 7, 0x6c, 7, 0x6d, 7, 0x6e, 7,
  /*  84 */ 0x6f, 7, 0x70, 7, 0x71, 7, 0x72, 7,
  /*  88 */ 0xfc, 8, 0x73, 7, 0xfd, 8, 0x1ffb, 13,
  /*  92 */ 0x7fff0, 19, 0x1ffc, 13, 0x3ffc, 14, 0x22, 6,
  /*  96 */ 0x7ffd, 15, 0x3, 5, 0x23, 6, 0x4, 5,
  /* 100 */ 0x24, 6, 0x5, 5, 0x25, 6, 0x26, 6,
  /* 104 */ 0x27, 6, 0x6, 5, 0x74, 7, 0x75, 7,
  /* 108 */ 0x28, 6, 0x29, 6, 0x2a, 6, 0x7, 5,
  /* 112 */ 0x2b, 6, 0x76, 7, 0x2c, 6, 0x8, 5,
  /* 116 */ 0x9, 5, 0x2d, 6, 0x77, 7, 0x78, 7,
  /* 120 */ 0x79, 7, 0x7a, 7, 0x7b, 7, 0x7ffe, 15,
  /* 124 */ 0x7fc, 11, 0x3ffd, 14, 0x1ffd, 13, 0xffffffc, 28,
  /* 128 */ 0xfffe6, 20, 0x3fffd2, 22, 0xfffe7, 20, 0xfffe8, 20,
  /* 132 */ 0x3fffd3, 22, 0x3fffd4, 22, 0x3fffd5, 22, 0x7fffd9, 23,
  /* 136 */ 0x3fffd6, 22, 0x7fffda, 23, 0x7fffdb, 23, 0x7fffdc, 23,
  /* 140 */ 0x7fffdd, 23, 0x7fffde, 23, 0xffffeb, 24, 0x7fffdf, 23,
  /* 144 */ 0xffffec, 24, 0xffffed, 24, 0x3fffd7, 22, 0x7fffe0, 23,
  /* 148 */ 0xffffee, 24, 0x7fffe1, 23, 0x7fffe2, 23, 0x7fffe3, 23,
  /* 152 */ 0x7fffe4, 23, 0x1fffdc, 21, 0x3fffd8, 22, 0x7fffe5, 23,
  /* 156 */ 0x3fffd9, 22, 0x7fffe6, 23, 0x7fffe7, 23, 0xffffef, 24,
  /* 160 */ 0x3fffda, 22, 0x1fffdd, 21, 0xfffe9, 20, 0x3fffdb, 22,
  /* 164 */ 0x3fffdc, 22, 0x7fffe8, 23, 0x7fffe9, 23, 0x1fffde, 21,
  /* 168 */ 0x7fffea, 23, 0x3fffdd, 22, 0x3fffde, 22, 0xfffff0, 24,
  /* 172 */ 0x1fffdf, 21, 0x3fffdf, 22, 0x7fffeb, 23, 0x7fffec, 23,
  /* 176 */ 0x1fffe0, 21, 0x1fffe1, 21, 0x3fffe0, 22, 0x1fffe2, 21,
  /* 180 */ 0x7fffed, 23, 0x3fffe1, 22, 0x7fffee, 23, 0x7fffef, 23,
  /* 184 */ 0xfffea, 20, 0x3fffe2, 22, 0x3fffe3, 22, 0x3fffe4, 22,
  /* 188 */ 0x7ffff0, 23, 0x3fffe5, 22, 0x3fffe6, 22, 0x7ffff1, 23,
  /* 192 */ 0x3ffffe0, 26, 0x3ffffe1, 26, 0xfffeb, 20, 0x7fff1, 19,
  /* 196 */ 0x3fffe7, 22, 0x7ffff2, 23, 0x3fffe8, 22, 0x1ffffec, 25,
  /* 200 */ 0x3ffffe2, 26, 0x3ffffe3, 26, 0x3ffffe4, 26, 0x7ffffde, 27,
  /* 204 */ 0x7ffffdf, 27, 0x3ffffe5, 26, 0xfffff1, 24, 0x1ffffed, 25,
  /* 208 */ 0x7fff2, 19, 0x1fffe3, 21, 0x3ffffe6, 26, 0x7ffffe0, 27,
  /* 212 */ 0x7ffffe1, 27, 0x3ffffe7, 26, 0x7ffffe2, 27, 0xfffff2, 24,
  /* 216 */ 0x1fffe4, 21, 0x1fffe5, 21, 0x3ffffe8, 26, 0x3ffffe9, 26,
  /* 220 */ 0xffffffd, 28, 0x7ffffe3, 27, 0x7ffffe4, 27, 0x7ffffe5, 27,
  /* 224 */ 0xfffec, 20, 0xfffff3, 24, 0xfffed, 20, 0x1fffe6, 21,
  /* 228 */ 0x3fffe9, 22, 0x1fffe7, 21, 0x1fffe8, 21, 0x7ffff3, 23,
  /* 232 */ 0x3fffea, 22, 0x3fffeb, 22, 0x1ffffee, 25, 0x1ffffef, 25,
  /* 236 */ 0xfffff4, 24, 0xfffff5, 24, 0x3ffffea, 26, 0x7ffff4, 23,
  /* 240 */ 0x3ffffeb, 26, 0x7ffffe6, 27, 0x3ffffec, 26, 0x3ffffed, 26,
  /* 244 */ 0x7ffffe7, 27, 0x7ffffe8, 27, 0x7ffffe9, 27, 0x7ffffea, 27,
  /* 248 */ 0x7ffffeb, 27, 0xffffffe, 28, 0x7ffffec, 27, 0x7ffffed, 27,
  /* 252 */ 0x7ffffee, 27, 0x7ffffef, 27, 0x7fffff0, 27, 0x3ffffee, 26,
  /* EOS */ 0x3fffffff, 30,
];

const EOS = 256;

/** Code of each symbol, right-aligned (`HUFFMAN_CODE[sym]`, `HUFFMAN_BITS[sym]` bits long). */
export const HUFFMAN_CODE: Uint32Array = new Uint32Array(257);
export const HUFFMAN_BITS: Uint8Array = new Uint8Array(257);
for (let sym = 0; sym <= EOS; sym++) {
  HUFFMAN_CODE[sym] = APPENDIX_B[sym * 2]!;
  HUFFMAN_BITS[sym] = APPENDIX_B[sym * 2 + 1]!;
}

// --- decoder state table -------------------------------------------------------------------------

/**
 * Where a string that contained EOS goes (§5.2: an error) and stays: checked once, after the loop.
 * States 0..255 are the inner nodes of the code tree (257 leaves), the root being 0.
 */
const DEAD = 256;
/** Bit 9 of a transition: it emits the symbol held in bits 16..23. */
const EMITS_SHIFT = 9;
/** Ending the string in the target state is allowed: what was read since the last symbol is at
 * most 7 one-bits, i.e. valid padding (§5.2). */
const MAY_END = 1 << 10;

/**
 * `DECODE_STEP[state * 16 + nibble]` = next state (bits 0..8) | emits (bit 9) | MAY_END (bit 10) |
 * symbol (bits 16..23). The shortest code is 5 bits, so a 4-bit step emits at most one symbol.
 */
const DECODE_STEP: Uint32Array = buildDecodeTable();

function buildDecodeTable(): Uint32Array {
  // The code tree: child[node * 2 + bit] is an inner node id (>= 0) or a leaf, -1 - symbol.
  const child = new Int32Array(256 * 2).fill(0x7fffffff);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFFMAN_CODE[sym]!;
    const bits = HUFFMAN_BITS[sym]!;
    let node = 0;
    for (let i = bits - 1; i > 0; i--) {
      const slot = node * 2 + ((code >>> i) & 1);
      if (child[slot] === 0x7fffffff) child[slot] = nodes++;
      node = child[slot]!;
      if (node < 0) throw new Error(`Huffman table: code of ${sym} extends the code of another symbol`);
    }
    const slot = node * 2 + (code & 1);
    if (child[slot] !== 0x7fffffff) throw new Error(`Huffman table: code of ${sym} is not a leaf`);
    child[slot] = -1 - sym;
  }
  // A complete prefix code over 257 symbols has exactly 256 inner nodes, each with two children.
  if (nodes !== 256 || child.includes(0x7fffffff)) throw new Error('Huffman table: the code is not complete');

  // The inner nodes reached from the root by 0 to 7 one-bits: where a string may end.
  const mayEnd = new Uint8Array(256);
  for (let node = 0, depth = 0; depth <= 7; depth++) {
    mayEnd[node] = 1;
    node = child[node * 2 + 1]!;
  }

  const table = new Uint32Array((DEAD + 1) * 16).fill(DEAD);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0 && node !== DEAD; i--) {
        const next = child[node * 2 + ((nibble >>> i) & 1)]!;
        if (next >= 0) {
          node = next;
        } else if (next === -1 - EOS) {
          node = DEAD;
          entry = 0;
        } else {
          entry = (1 << EMITS_SHIFT) | ((-1 - next) << 16);
          node = 0;
        }
      }
      if (node !== DEAD && mayEnd[node] === 1) entry |= MAY_END;
      table[state * 16 + nibble] = entry | node;
    }
  }
  return table;
}

/** Why `huffmanDecode` refused its input. */
export const HUFFMAN_CONTAINS_EOS = -1;
export const HUFFMAN_BAD_PADDING = -2;

/**
 * Decodes `src[start, end)` into `out` from `outStart`. Returns the end offset in `out`, or
 * `HUFFMAN_CONTAINS_EOS` / `HUFFMAN_BAD_PADDING`. `out` must hold `(end - start) * 8 / 5 + 1`
 * octets past `outStart`: no symbol is shorter than 5 bits, and every step stores its symbol
 * unconditionally (advancing only when it emits one), which is faster than branching per nibble.
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outStart: number,
): number {
  let state = 0;
  let step = MAY_END;
  let n = outStart;
  for (let i = start; i < end; i++) {
    const octet = src[i]!;
    step = DECODE_STEP[(state << 4) | (octet >>> 4)]!;
    out[n] = step >>> 16;
    n += (step >>> EMITS_SHIFT) & 1;
    step = DECODE_STEP[((step & 0x1ff) << 4) | (octet & 0x0f)]!;
    out[n] = step >>> 16;
    n += (step >>> EMITS_SHIFT) & 1;
    state = step & 0x1ff;
  }
  if (state === DEAD) return HUFFMAN_CONTAINS_EOS;
  return (step & MAY_END) !== 0 ? n : HUFFMAN_BAD_PADDING;
}

/** Octets the Huffman coding of `s` takes, padding included. */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_BITS[s.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman coding of `s` into `out[pos, limit)`, padded with the high bits of EOS (ones),
 * and returns the end offset; returns -1, having written only inside that range, when the coding
 * does not fit. The encoder passes a limit one octet short of the raw string, so one pass both
 * codes a string and finds out whether coding it is worth it.
 */
export function huffmanEncode(s: string, out: Uint8Array, pos: number, limit: number): number {
  // `queued` holds the last `queuedBits` (≤ 32) bits of the coding; it is written four octets at a
  // time, which costs about half of writing each octet as it completes. Codes are at most 30 bits.
  let queued = 0;
  let queuedBits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const code = HUFFMAN_CODE[sym]!;
    const bits = HUFFMAN_BITS[sym]!;
    if (queuedBits + bits <= 32) {
      queued = (queued << bits) | code;
      queuedBits += bits;
      continue;
    }
    if (pos + 4 > limit) return -1;
    // Fill the queue to 32 bits with the code's high bits, write it, keep the `spill` low bits.
    const spill = queuedBits + bits - 32;
    queued = (queued << (32 - queuedBits)) | (code >>> spill);
    out[pos] = queued >>> 24;
    out[pos + 1] = queued >>> 16;
    out[pos + 2] = queued >>> 8;
    out[pos + 3] = queued;
    pos += 4;
    queued = code & ((1 << spill) - 1);
    queuedBits = spill;
  }
  if (queuedBits === 0) return pos;
  const octets = (queuedBits + 7) >>> 3;
  if (pos + octets > limit) return -1;
  const padding = octets * 8 - queuedBits;
  let last = (queued << padding) | ((1 << padding) - 1);
  for (let k = octets - 1; k >= 0; k--) {
    out[pos + k] = last;
    last >>>= 8;
  }
  return pos + octets;
}
