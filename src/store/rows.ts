/** Row ↔ contract mapping shared by the store's parts: epoch ms ↔ Date, JSON text, bytes. */
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
    token: row.token as DeviceToken,
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
