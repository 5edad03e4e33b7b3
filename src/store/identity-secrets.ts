/**
 * Identity secrets, one per app, encrypted at rest like credentials. They live in their own table
 * (migration 0006) rather than on the apps row: rotating one touches nothing else of the app, and
 * an app's settings can change without re-reading it.
 *
 * The associated data binds the ciphertext to its app and purpose. Unlike credentials it leaves the
 * topic out (an empty topic): the secret belongs to the app's users, not to its APNs topic, so a
 * topic change must not invalidate every aliasToken the backend has minted.
 */
import type { Kysely } from 'kysely';
import { ok, type Result } from '../domain/index.ts';
import { appExists, appNotFound } from './app-exists.ts';
import type { IdentitySecretStore } from './contract.ts';
import type { CredentialCipher } from './credential-cipher.ts';
import { toMs } from './rows.ts';
import type { Database } from './schema.ts';

const context = (appId: string) => ({ appId, topic: '', purpose: 'identity-secret' }) as const;

export class SqlIdentitySecretStore implements IdentitySecretStore {
  readonly #db: Kysely<Database>;
  readonly #cipher: CredentialCipher;

  constructor(db: Kysely<Database>, cipher: CredentialCipher) {
    this.#db = db;
    this.#cipher = cipher;
  }

  async replace(appId: string, secret: string, at: Date = new Date()): Promise<Result<void>> {
    const sealed = this.#cipher.encrypt(secret, context(appId));
    return this.#db.transaction().execute(async (trx) => {
      if (!(await appExists(trx, appId))) return appNotFound();
      await trx
        .insertInto('app_identity_secrets')
        .values({ app_id: appId, secret: sealed, rotated_at: toMs(at) })
        .onConflict((conflict) =>
          conflict.column('app_id').doUpdateSet({ secret: sealed, rotated_at: toMs(at) }),
        )
        .execute();
      return ok(undefined);
    });
  }

  async get(appId: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom('app_identity_secrets')
      .select('secret')
      .where('app_id', '=', appId)
      .executeTakeFirst();
    return row === undefined ? null : this.#cipher.decrypt(row.secret, context(appId));
  }
}
