/**
 * Row ↔ contract mapping shared by the store's parts: epoch ms ↔ Date, JSON text, bytes, and device
 * tokens (hex strings in the contract, their bytes in the devices table since migration 0003).
 */
import type { DeviceToken, Environment } from '../domain/index.ts';
import type { Device } from './contract.ts';
import type { DevicesTable } from './schema.ts';

export function toMs(date: Date): number {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('Invalid Date given to the store.');
  return ms;
}

export function toDate(ms: number): Date {
  return new Date(Number(ms));
}

export function toDateOrNull(ms: number | null): Date | null {
  return ms === null ? null : new Date(Number(ms));
}

/**
 * A token's bytes, for a query on devices; null when `token` is not hex of whole bytes — no device
 * can match it. (Buffer's hex decoding stops at the first character that is not a hex digit, so a
 * length check catches every such string; upper-case digits decode like lower-case ones, the
 * same device.) Tokens reaching the store went through parseDeviceToken already; this is the guard
 * that makes a malformed one match nothing rather than a device whose bytes it happens to prefix.
 */
export function tokenBytes(token: string): Buffer | null {
  const bytes = Buffer.from(token, 'hex');
  return bytes.length * 2 === token.length && bytes.length > 0 ? bytes : null;
}

/** The lower-case hex of a token read from devices (node:sqlite gives Uint8Array, pg a Buffer). */
export function tokenHex(bytes: Uint8Array): DeviceToken {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') as DeviceToken;
}

/** Tokens as bytes for an IN list, in the given order, skipping any that cannot match (tokenBytes). */
export function tokensBytes(tokens: readonly string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const token of tokens) {
    const bytes = tokenBytes(token);
    if (bytes !== null) out.push(bytes);
  }
  return out;
}

/** The device columns every read selects (everything but the surrogate key). */
export const DEVICE_COLUMNS = [
  'token',
  'environment',
  'alias',
  'tags',
  'locale',
  'created_at',
  'last_registered_at',
  'last_success_at',
  'invalid_since',
  'invalid_reason',
] as const;

export type DeviceRow = Pick<DevicesTable, (typeof DEVICE_COLUMNS)[number]>;

export function toDevice(row: DeviceRow): Device {
  return {
    token: tokenHex(row.token),
    environment: row.environment as Environment,
    alias: row.alias,
    tags: JSON.parse(row.tags) as string[],
    locale: row.locale,
    createdAt: toDate(row.created_at),
    lastRegisteredAt: toDate(row.last_registered_at),
    lastSuccessAt: toDateOrNull(row.last_success_at),
    invalidSince: toDateOrNull(row.invalid_since),
    invalidReason: row.invalid_reason,
  };
}

/** Splits `items` into chunks of at most `size`. */
export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
