/**
 * Random apns-ids (UUID version 4, RFC 9562 §5.4) for notifications sent without one.
 *
 * `crypto.randomUUID()` builds its string from many small pieces: ~500 octets of garbage per id
 * (`--heap-prof` with collected objects), the largest single allocation of a send. Here the
 * random octets come from one pooled `randomFillSync` per 256 ids and the id is written as
 * latin1 text into a scratch buffer, so each id costs one 36-character string.
 */
import { randomFillSync } from 'node:crypto';

const IDS_PER_FILL = 256;
const pool = Buffer.allocUnsafe(16 * IDS_PER_FILL);
let offset = pool.length;
const text = Buffer.allocUnsafe(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of the 16 octets goes in the 36-character form (8-4-4-4-12). */
const POSITIONS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
text[8] = text[13] = text[18] = text[23] = 0x2d; // '-'

export function randomApnsId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  // Version 4 in the high nibble of octet 6, variant 10xx in the high bits of octet 8.
  pool[offset + 6] = (pool[offset + 6]! & 0x0f) | 0x40;
  pool[offset + 8] = (pool[offset + 8]! & 0x3f) | 0x80;
  for (let index = 0; index < 16; index += 1) {
    const octet = pool[offset + index]!;
    const at = POSITIONS[index]!;
    text[at] = HEX[octet >> 4]!;
    text[at + 1] = HEX[octet & 0x0f]!;
  }
  offset += 16;
  return text.toString('latin1', 0, 36);
}
