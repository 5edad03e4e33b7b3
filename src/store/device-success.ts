/**
 * `last_success_at` for devices APNs accepted: one statement per 1,024 tokens. Shared by
 * `devices.markSuccess` and by `notifications.recordOutcomes`, which sets it in the same
 * transaction as the outcomes (one commit per outcome chunk instead of two).
 */
import type { Kysely } from 'kysely';
import type { DeviceToken } from '../domain/index.ts';
import { appKeyOf } from './app-keys.ts';
import { chunks, tokensBytes } from './rows.ts';
import type { Database } from './schema.ts';
import { paddedSize } from './sized-statements.ts';

export async function markDevicesSucceeded(
  db: Kysely<Database>,
  appId: string,
  tokens: readonly DeviceToken[],
  atMs: number,
): Promise<void> {
  for (const part of chunks(tokensBytes([...new Set(tokens)]), 1024)) {
    // Padded (sized-statements.ts): chunks of varying sizes share a few SQL texts.
    const size = paddedSize(part.length);
    const padded =
      part.length === size ? part : [...part, ...new Array<Buffer>(size - part.length).fill(part.at(-1)!)];
    await db
      .updateTable('devices')
      .set({ last_success_at: atMs })
      .where('app_key', '=', appKeyOf(db, appId))
      .where('token', 'in', padded)
      .execute();
  }
}
