/** The guard for writes that create rows inside an app: an unknown app is PK_ERR_APP_NOT_FOUND. */
import type { Kysely } from 'kysely';
import { fail, problem } from '../domain/index.ts';
import type { Database } from './schema.ts';

export async function appExists(db: Kysely<Database>, appId: string): Promise<boolean> {
  const row = await db.selectFrom('apps').select('id').where('id', '=', appId).executeTakeFirst();
  return row !== undefined;
}

export function appNotFound() {
  return fail(problem('PK_ERR_APP_NOT_FOUND', 'App not found.', 'unknown-app'));
}
