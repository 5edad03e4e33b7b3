/**
 * `last_success_at` for devices APNs accepted: one statement per 1,024 tokens. Shared by
 * `devices.markSuccess` and by the batch commit (batch-checkpoints.ts), which sets it in the same
 * transaction as the batch's counts.
 *
 * Coarse on purpose: the mark says "this device took a push lately" (a registry's staleness rule),
 * not "when exactly". With `olderThanMs`, only marks older than that (or unset) are rewritten, so a
 * daily broadcast rewrites each device at most once a day instead of every device on every push —
 * on PostgreSQL each rewrite is a new row version, and on SQLite a dirty page in the WAL.
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
  olderThanMs: number | null = null,
): Promise<void> {
  for (const part of chunks(tokensBytes([...new Set(tokens)]), 1024)) {
    // Padded (sized-statements.ts): chunks of varying sizes share a few SQL texts.
    const size = paddedSize(part.length);
    const padded =
      part.length === size ? part : [...part, ...new Array<Buffer>(size - part.length).fill(part.at(-1)!)];
    let update = db
      .updateTable('devices')
      .set({ last_success_at: atMs })
      .where('app_key', '=', appKeyOf(db, appId))
      .where('token', 'in', padded);
    if (olderThanMs !== null) {
      update = update.where((eb) => eb.or([eb('last_success_at', 'is', null), eb('last_success_at', '<', olderThanMs)]));
    }
    await update.execute();
  }
}
