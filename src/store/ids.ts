/**
 * Resource ids: a type prefix and 26 characters of Crockford base32 — 48 bits of milliseconds then
 * 80 random bits (the ULID layout), so ids sort by creation time and never collide in practice.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function newId(prefix: 'app' | 'key' | 'ntf', at: Date = new Date()): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(Math.max(0, Math.min(at.getTime(), 2 ** 48 - 1)), 0, 6);
  randomBytes(10).copy(bytes, 6);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let out = '';
  for (let i = 0; i < 26; i++) {
    out = ALPHABET[Number(bits & 31n)]! + out;
    bits >>= 5n;
  }
  return `${prefix}_${out}`;
}
