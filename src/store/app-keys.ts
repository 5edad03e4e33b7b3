/**
 * Apps' integer keys (migration 0003). devices and device_tags hold `app_key`, not the app id: every
 * device index starts with the app, and an integer there instead of a 30-character id made a bulk
 * import a quarter cheaper (docs/store.md). The contract still speaks app ids; the translation
 * happens here, inside the statements, so isolation stays one WHERE clause per query.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * The app's key as a scalar subquery, for `where('app_key', '=', appKeyOf(db, appId))`. Both
 * databases evaluate an uncorrelated subquery once per statement and use its value for the index
 * range, so a device query costs one extra probe of a tiny table, and an unknown app id matches no
 * row — exactly as an unknown app id did before.
 */
export function appKeyOf(db: Kysely<Database> | ExpressionBuilder<Database, never>, appId: string) {
  return db.selectFrom('app_keys').select('app_keys.key').where('app_keys.app_id', '=', appId);
}

/** The app's key, or null for an unknown app. */
export async function readAppKey(db: Kysely<Database>, appId: string): Promise<number | null> {
  const row = await db.selectFrom('app_keys').select('key').where('app_id', '=', appId).executeTakeFirst();
  return row === undefined ? null : Number(row.key);
}
